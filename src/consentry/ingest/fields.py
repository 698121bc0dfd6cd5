"""The canonical columns of each import kind: type, whether required, default, allowed values.

Column types and widths follow ``store.models``; the Arrow schemas of validated tables are
``store.content``'s. A column a file does not have, or leaves empty in every row, keeps the values
already stored (new rows get the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from consentry.domain.types import ConsentSource, Decision, Visibility
from consentry.errors import InvalidInput
from consentry.store.content import ACCOUNTS_SCHEMA, CONSENT_SCHEMA, POSTS_SCHEMA


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    """id, str, text, ts, date, bool, int, enum, jurisdiction or purpose."""
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    max_len: int | None = None


ACCOUNT_FIELDS = (
    Field("id", "id", required=True, max_len=64),
    Field("handle", "str", required=True, max_len=64),
    Field("display_name", "str", max_len=200),
    Field("jurisdiction", "jurisdiction", required=True, max_len=8),
    Field("birth_date", "date"),
    Field("is_minor", "bool"),
    Field("protected", "bool", default=False),
    Field("created_at", "ts"),
    Field("deleted_at", "ts"),
)
POST_FIELDS = (
    Field("id", "id", required=True, max_len=64),
    Field("account_id", "id", required=True, max_len=64),
    Field("created_at", "ts", required=True),
    Field("text", "text", default=""),
    Field("lang", "str", max_len=16),
    Field("visibility", "enum", default="public", choices=tuple(Visibility)),
    Field("reply_to", "str", max_len=64),
    Field("deleted_at", "ts"),
    Field("like_count", "int", default=0),
    Field("repost_count", "int", default=0),
    Field("reply_count", "int", default=0),
)
CONSENT_FIELDS = (
    Field("external_id", "id", required=True, max_len=128),
    Field("account_id", "id", required=True, max_len=64),
    Field("purpose", "purpose", required=True, max_len=100),
    Field("collaborator_id", "str", max_len=64),
    Field("decision", "enum", required=True, choices=tuple(Decision)),
    Field("source", "enum", default="import", choices=tuple(ConsentSource)),
    Field("policy_version", "str", max_len=32),
    Field("effective_at", "ts", required=True),
    Field("recorded_at", "ts"),  # default: the time of the import; never in the future
)


@dataclass(frozen=True)
class Kind:
    name: str
    fields: tuple[Field, ...]
    schema: pa.Schema
    key: str


KINDS = {
    "accounts": Kind("accounts", ACCOUNT_FIELDS, ACCOUNTS_SCHEMA, "id"),
    "posts": Kind("posts", POST_FIELDS, POSTS_SCHEMA, "id"),
    "consent": Kind("consent", CONSENT_FIELDS, CONSENT_SCHEMA, "external_id"),
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
