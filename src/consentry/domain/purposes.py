"""Purposes are fideslang data-use keys; the ones Consentry knows out of the box."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

TRAIN_AI_SYSTEM = "train_ai_system"

BUILTIN_PURPOSES: dict[str, tuple[str, str]] = {
    TRAIN_AI_SYSTEM: ("Train AI System", "Training generative AI models on users' posts."),
    "third_party_sharing": ("Third Party Sharing", "Sharing data with third parties."),
    "marketing.advertising": ("Advertising", "Advertising based on users' data."),
    "personalize": ("Personalize", "Personalising the product for the user."),
}


@dataclass(frozen=True)
class PlainWords:
    """How the user's page names a purpose: words a non-technical user understands."""

    heading: str
    """The section's heading, e.g. "Personalise what you see"."""
    description: str
    """One sentence on what allowing it means for the user."""
    use: str
    """Completes "use my posts to ...", e.g. "train AI models"."""


PLAIN_WORDS: dict[str, PlainWords] = {
    TRAIN_AI_SYSTEM: PlainWords(
        "AI training",
        "Collaborators may use your public posts to teach their AI models to write and answer "
        "questions; the models learn from your words but do not show your name.",
        "train AI models",
    ),
    "personalize": PlainWords(
        "Personalise what you see",
        "Collaborators may use your posts to learn what people like, so that the posts and "
        "suggestions shown to you and others fit their interests.",
        "personalise what people see",
    ),
    "third_party_sharing": PlainWords(
        "Sharing with other companies",
        "Collaborators may pass your public posts on to other companies they work with.",
        "pass them on to other companies",
    ),
    "marketing.advertising": PlainWords(
        "Advertising",
        "Collaborators may use your posts to choose which ads to show, to you and to others.",
        "choose the ads people see",
    ),
}
"""In the order the page shows them; a purpose not listed here comes after, by key."""


def plain_words(purpose: str) -> PlainWords:
    """The words for ``purpose``; a fideslang key we have no words for is named as it is."""
    found = PLAIN_WORDS.get(purpose)
    if found is not None:
        return found
    name = BUILTIN_PURPOSES.get(purpose, (purpose, ""))[0]
    return PlainWords(name, f"Collaborators may use your posts for “{name}”.", f"serve “{name}”")


def page_order(purpose: str) -> tuple[int, str]:
    """Sort key: the purposes we have words for first, in ``PLAIN_WORDS`` order."""
    known = list(PLAIN_WORDS)
    return (known.index(purpose) if purpose in known else len(known), purpose)


@lru_cache
def fideslang_data_uses() -> frozenset[str]:
    """Every data-use key of the fideslang default taxonomy."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return frozenset(use.fides_key for use in DEFAULT_TAXONOMY.data_use)


def validate_purpose(key: str) -> str:
    if key not in fideslang_data_uses():
        raise ValueError(
            f"purpose {key!r} is not a fideslang data use; e.g. {TRAIN_AI_SYSTEM!r}, "
            "'third_party_sharing', 'marketing.advertising'"
        )
    return key
