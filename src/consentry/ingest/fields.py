"""The canonical columns of each import kind: type, whether required, default, allowed values,
and what each means. The validator (``validate``), the readers and the reference
(``reference``: docs/IMPORT.md, ``consentry import KIND --help``) all read these objects.

Column types and widths follow ``store.models``; the Arrow schemas of validated tables, the
defaults of new rows and the columns that may never be blank are ``store.content``'s. An
accounts or posts row that leaves a value out (a missing column or key, a null, an empty cell)
keeps the value already stored; a new row gets the default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from consentry.domain.types import ConsentSource, Decision, PostKind, Visibility
from consentry.errors import InvalidInput
from consentry.store.content import (
    ACCOUNTS_SCHEMA,
    CONSENT_SCHEMA,
    DEFAULTS,
    NEVER_BLANK,
    POSTS_SCHEMA,
)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    """id, str, text, ts, date, bool, int, enum, jurisdiction or purpose."""
    doc: str
    """One line: what the column means."""
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    never_blank: bool = False
    """May be left out, but a blank value (empty cell, JSON null) is refused."""


def _stored(table: str, *fields: Field) -> tuple[Field, ...]:
    """Defaults and never-blank columns as the store applies them (one place for both)."""
    return tuple(
        replace(f, default=DEFAULTS[table].get(f.name), never_blank=f.name in NEVER_BLANK[table])
        for f in fields
    )


ACCOUNT_FIELDS = _stored(
    "accounts",
    Field("id", "id", "The platform's id of the account.", required=True, max_len=64),
    Field("handle", "str", "The @handle, without the @.", required=True, max_len=64),
    Field("display_name", "str", "The name shown on the profile.", max_len=200),
    Field(
        "jurisdiction",
        "jurisdiction",
        "Where the holder lives: ISO 3166 country or subdivision (DE, US-CA).",
        required=True,
        max_len=8,
    ),
    Field("birth_date", "date", "Date of birth (YYYY-MM-DD), when the platform knows it."),
    Field("is_minor", "bool", "The platform's minor flag, when it has no birth date."),
    Field("protected", "bool", "A private account: none of its posts is ever shared."),
    Field("created_at", "ts", "When the account was created."),
    Field("deleted_at", "ts", "When it was deleted: the earliest time sent counts; not future."),
)
POST_FIELDS = _stored(
    "posts",
    Field("id", "id", "The platform's id of the post.", required=True, max_len=64),
    Field("account_id", "id", "The author (an imported account).", required=True, max_len=64),
    Field("created_at", "ts", "When the post was published.", required=True),
    Field("text", "text", "The words of the post, as plain text."),
    Field("lang", "str", "Its language (BCP 47, e.g. en, de).", max_len=16),
    Field(
        "visibility",
        "enum",
        "Who could see it; direct messages are never shared.",
        choices=tuple(Visibility),
    ),
    Field("reply_to", "str", "The post it answers.", max_len=64),
    Field(
        "kind",
        "enum",
        "What it is; blank on a new post: reply if reply_to is set, else post. "
        "Reposts are never shared.",
        choices=tuple(PostKind),
    ),
    Field(
        "original_id",
        "str",
        "The reposted or quoted post: required for repost and quote, refused otherwise.",
        max_len=64,
    ),
    Field("deleted_at", "ts", "When it was deleted: the earliest time sent counts; not future."),
    Field("like_count", "int", "Likes (favourites)."),
    Field("repost_count", "int", "Reposts (retweets, boosts)."),
    Field("reply_count", "int", "Replies it received."),
)
CONSENT_FIELDS = (
    Field(
        "external_id",
        "id",
        "The platform's id of the event; sent again, it must say the same.",
        required=True,
        max_len=128,
    ),
    Field("account_id", "id", "Whose choice (an imported account).", required=True, max_len=64),
    Field(
        "purpose",
        "purpose",
        "The data use, a fideslang key (train_ai_system).",
        required=True,
        max_len=100,
    ),
    Field(
        "collaborator_id", "str", "The collaborator it is about; blank: all of them.", max_len=64
    ),
    Field("decision", "enum", "The choice.", required=True, choices=tuple(Decision)),
    Field(
        "source",
        "enum",
        "Where the choice was made.",
        default="import",
        choices=tuple(ConsentSource),
    ),
    Field("policy_version", "str", "The policy version the user was shown.", max_len=32),
    Field("effective_at", "ts", "From when the choice holds.", required=True),
    Field("recorded_at", "ts", "When the platform recorded it; default: now; never future."),
    Field(
        "sequence",
        "int",
        "Ledger order, when not the file's: a stable sort by it; on every row or none.",
    ),
)


@dataclass(frozen=True)
class Kind:
    name: str
    fields: tuple[Field, ...]
    schema: pa.Schema
    key: str
    doc: str
    """What a file of this kind does, for the reference."""


KINDS = {
    "accounts": Kind(
        "accounts",
        ACCOUNT_FIELDS,
        ACCOUNTS_SCHEMA,
        "id",
        "Insert or update accounts by id. An update changes only the values it gives.",
    ),
    "posts": Kind(
        "posts",
        POST_FIELDS,
        POSTS_SCHEMA,
        "id",
        "Insert or update posts by id; their accounts must exist. An update changes only the "
        "values it gives.",
    ),
    "consent": Kind(
        "consent",
        CONSENT_FIELDS,
        CONSENT_SCHEMA,
        "external_id",
        "Append consent events to the ledger in the order sent (the file's, or `sequence`); "
        "external ids already recorded are skipped, and refused if their content differs.",
    ),
}

JSON_TYPES = {"bool": pa.bool_(), "int": pa.int64()}
"""What a JSON value of each field kind must be; every other kind is a JSON string."""


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidInput(f"unknown import kind {name!r}; expected {', '.join(KINDS)}") from None


def json_schema(kind: Kind) -> pa.Schema:
    return pa.schema([(f.name, JSON_TYPES.get(f.kind, pa.string())) for f in kind.fields])
