"""Purposes are fideslang data-use keys; the ones Consentry knows out of the box."""

from __future__ import annotations

from functools import lru_cache

TRAIN_AI_SYSTEM = "train_ai_system"

BUILTIN_PURPOSES: dict[str, tuple[str, str]] = {
    TRAIN_AI_SYSTEM: ("Train AI System", "Training generative AI models on users' posts."),
    "third_party_sharing": ("Third Party Sharing", "Sharing data with third parties."),
    "marketing.advertising": ("Advertising", "Advertising based on users' data."),
    "personalize": ("Personalize", "Personalising the product for the user."),
}

PLAIN_WORDS: dict[str, str] = {
    TRAIN_AI_SYSTEM: "train AI models",
    "third_party_sharing": "share with third parties",
    "marketing.advertising": "show you advertising",
    "personalize": "personalise your experience",
}


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
