"""The story the demo platform tells: its period, its two policy versions, its collaborators.

Policy v1 (2023) covers personalisation only. Policy v2 adds AI training (`train_ai_system`):
announced on 2024-10-16, in force from 2024-11-15, shared by default (`opt_out`) in the US,
only with an explicit yes (`opt_in`) in the EU, the EEA and the UK. Everywhere else we also
chose `opt_in`: the cautious default where no law settles the question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

PERIOD_START = datetime(2024, 6, 1, tzinfo=UTC)
PERIOD_END = datetime(2025, 1, 1, tzinfo=UTC)
"""Posts are created in [PERIOD_START, PERIOD_END): June to December 2024."""

MINOR_REFERENCE_DAY = date(2024, 11, 15)
"""Minors are under 18 on this day (v2's effective date); some turn 18 before the year ends."""

V1_PUBLISHED = datetime(2023, 1, 1, tzinfo=UTC)
V1_EFFECTIVE = datetime(2023, 2, 1, tzinfo=UTC)
V2_PUBLISHED = datetime(2024, 10, 16, tzinfo=UTC)
V2_EFFECTIVE = datetime(2024, 11, 15, tzinfo=UTC)

PERSONALIZE = "personalize"
TRAIN_AI_SYSTEM = "train_ai_system"


@dataclass(frozen=True)
class DemoPolicy:
    version: str
    summary: str
    defaults: dict[str, dict[str, str]]
    """purpose -> jurisdiction key -> opt_in | opt_out | never."""
    published_at: datetime
    effective_at: datetime
    full_text: str = ""
    """The policy in full, in Markdown, as users read it."""


@dataclass(frozen=True)
class DemoCollaborator:
    id: str
    name: str
    country: str
    contact: str
    dpa_date: date
    listed_at: datetime
    """When users were first shown it (rule 6)."""


V1_TEXT = """\
# How we use your posts

## Personalising your timeline
We use your posts and what you do on the platform to choose what your timeline shows you
first. This is **on unless you switch it off** in Settings, under *Data sharing and
personalization*.

## What we never do
- We never sell your direct messages, and we never use them for any of this.
- We never use the posts of protected (private) accounts, or of anyone under 18.

## Your choices
You can switch any of this off or on at any time. A change counts from the moment you make it.
"""

V2_TEXT = """\
# How we use your posts

## Personalising your timeline
We use your posts and what you do on the platform to choose what your timeline shows you
first. This is **on unless you switch it off**.

## Licensing public posts for AI training
We may license your **public** posts to selected companies ("collaborators") that train AI
models. Each collaborator is named on your settings page before it gets any posts.

| Where you live | Unless you choose |
|---|---|
| United States | shared unless you switch it off |
| European Union, EEA, United Kingdom, everywhere else | shared only if you switch it on |

Before posts are shared we remove email addresses, phone numbers, street addresses, card
numbers and personal links, and we replace your name and handle with a code.

## If you change your mind
Switch it off at any time, for all collaborators or for one. Collaborators get none of your
posts from then on, and those that already have some are told to delete them.

## What we never do
- We never share direct messages.
- We never share the posts of protected (private) accounts, or of anyone under 18.
"""

POLICIES: tuple[DemoPolicy, ...] = (
    DemoPolicy(
        version="v1",
        summary="We use your posts and activity to personalise your timeline. "
        "You can switch this off in Settings.",
        defaults={PERSONALIZE: {"*": "opt_out"}},
        published_at=V1_PUBLISHED,
        effective_at=V1_EFFECTIVE,
        full_text=V1_TEXT,
    ),
    DemoPolicy(
        version="v2",
        summary="We may license your public posts to selected companies to train AI models. "
        "In the US this is on unless you switch it off; in the EU and the UK (and everywhere "
        "else) only if you switch it on. Direct messages, protected accounts and under-18s are "
        "never included.",
        defaults={
            PERSONALIZE: {"*": "opt_out"},
            TRAIN_AI_SYSTEM: {
                "US": "opt_out",
                "EU": "opt_in",
                "EEA": "opt_in",
                "GB": "opt_in",
                "*": "opt_in",
            },
        },
        published_at=V2_PUBLISHED,
        effective_at=V2_EFFECTIVE,
        full_text=V2_TEXT,
    ),
)

COLLABORATORS: tuple[DemoCollaborator, ...] = (
    DemoCollaborator(
        id="northwind-ai",
        name="Northwind AI Ltd",
        country="GB",
        contact="licensing@northwind-ai.example",
        dpa_date=date(2024, 9, 30),
        listed_at=V2_PUBLISHED,
    ),
    DemoCollaborator(
        id="lumen-labs",
        name="Lumen Labs Inc.",
        country="US",
        contact="data-partnerships@lumenlabs.example",
        dpa_date=date(2024, 10, 1),
        # Listed after v2: a master "on" given before then does not cover it (rule 6).
        listed_at=datetime(2025, 3, 1, tzinfo=UTC),
    ),
)
