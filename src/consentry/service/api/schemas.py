"""Request and response bodies of the platform API (they are its OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from consentry.domain.purposes import TRAIN_AI_SYSTEM, fideslang_data_uses, validate_purpose
from consentry.domain.types import ExclusionReason
from consentry.service.decisions import NO_LICENSE, UNKNOWN_POST

MAX_BULK_ITEMS = 50_000
REASONS = ", ".join([*(r.value for r in ExclusionReason), NO_LICENSE, UNKNOWN_POST])
NO_NUL = r"^[^\x00]*$"
"""No NUL character: PostgreSQL cannot store one in a text column."""
MAX_COUNT = 2**31 - 1
"""The largest engagement count the database's INTEGER column holds."""


Id = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]
"""An account's or post's id in a path, held to the rules of ``Id``."""
MAX_ROW_NUMBER = 2**63 - 1
"""The largest row number (a notice's, a consent event's) the database's BIGINT holds."""
RowNumber = Annotated[int, Path(ge=1, le=MAX_ROW_NUMBER)]
"""A notice's or consent event's number in a path."""


def _not_a_number(value: object) -> object:
    """JSON numbers are refused: pydantic would read 5 as 5 seconds after 1970."""
    if isinstance(value, int | float):
        raise ValueError("expected an ISO 8601 date-time string like 2025-03-01T09:00:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range once converted to UTC") from exc


Moment = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_in_utc)]
"""A date-time with its zone, as a string (RFC 3339), kept in UTC."""
Purpose = Annotated[
    str,
    AfterValidator(validate_purpose),
    Field(
        description="fideslang data use.",
        json_schema_extra={"enum": sorted(fideslang_data_uses())},
    ),
]
"""A fideslang data-use key; which of them a policy covers is the server's to say (422)."""
Text = Annotated[str, Field(pattern=NO_NUL)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MayShareQuestion(Strict):
    post_id: Id
    collaborator_id: Id
    purpose: Purpose = TRAIN_AI_SYSTEM


class Basis(BaseModel):
    """What the answer rests on: a consent event of the ledger, or a policy default."""

    event_id: int | None = None
    policy_version: str | None = None
    default: str | None = None


class MayShareAnswer(BaseModel):
    post_id: str
    collaborator_id: str
    purpose: str
    allowed: bool
    reason: str | None = Field(description=f"Why not, when not allowed: one of {REASONS}.")
    license_id: str | None = Field(description="The license the answer was found under.")
    basis: Basis


class BulkQuestions(Strict):
    """Which of these posts may be shared with this collaborator for this purpose now?"""

    collaborator_id: Id
    purpose: Purpose = TRAIN_AI_SYSTEM
    post_ids: list[Id] = Field(min_length=1, max_length=MAX_BULK_ITEMS)


class DecisionColumns(BaseModel):
    """The answers as columns: entry *i* of each list answers ``post_ids[i]``."""

    post_id: list[str]
    allowed: list[bool]
    reason: list[str | None] = Field(description=f"Why not, when not allowed: one of {REASONS}.")
    license_id: list[str | None]
    basis_event_id: list[int | None]
    basis_policy_version: list[str | None]
    basis_default: list[str | None]


class BulkAnswers(BaseModel):
    collaborator_id: str
    purpose: str
    count: int
    allowed_count: int
    decisions: DecisionColumns


class ConsentEventIn(Strict):
    account_id: Id
    purpose: Purpose = TRAIN_AI_SYSTEM
    collaborator_id: Id | None = Field(default=None, description="None: all collaborators.")
    decision: Literal["allow", "deny"]
    source: Literal["api", "gpc", "import"] = Field(
        default="api", description="api: the user chose in the platform's app."
    )
    effective_at: Moment | None = Field(default=None, description="Default: now.")
    policy_version: str | None = Field(default=None, pattern=NO_NUL, max_length=32)
    external_id: str | None = Field(
        default=None,
        pattern=NO_NUL,
        max_length=128,
        description="The platform's id of the event; sending it again returns the same event.",
    )


class ConsentEventOut(BaseModel):
    id: int
    account_id: str
    purpose: str
    collaborator_id: str | None
    decision: str
    source: str
    policy_version: str | None
    effective_at: datetime
    recorded_at: datetime
    external_id: str | None
    hash: str


class AccountIn(Strict):
    """Fields to set; fields left out or null keep their value (a new account needs handle and
    jurisdiction; ``protected`` may be left out but not null)."""

    handle: str | None = Field(default=None, pattern=NO_NUL, max_length=64)
    display_name: str | None = Field(default=None, pattern=NO_NUL, max_length=200)
    jurisdiction: str | None = Field(
        default=None, pattern=NO_NUL, max_length=8, description="ISO 3166: DE, US-CA"
    )
    birth_date: date | None = None
    is_minor: bool | None = None
    protected: bool | None = None
    created_at: Moment | None = None


class AccountOut(BaseModel):
    id: str
    handle: str
    display_name: str | None
    jurisdiction: str
    birth_date: date | None
    is_minor: bool | None
    protected: bool
    created_at: datetime | None
    deleted_at: datetime | None


class PostIn(Strict):
    """Fields to set; fields left out or null keep their value (a new post needs account_id and
    created_at; ``visibility`` may be left out but not null)."""

    account_id: str | None = Field(default=None, pattern=NO_NUL, max_length=64)
    created_at: Moment | None = None
    text: Text | None = None
    lang: str | None = Field(default=None, pattern=NO_NUL, max_length=16)
    visibility: Literal["public", "protected", "direct"] | None = None
    reply_to: str | None = Field(default=None, pattern=NO_NUL, max_length=64)
    kind: Literal["post", "reply", "repost", "quote"] | None = Field(
        default=None,
        description="Left out on a new post: reply if reply_to is set, else post; on an update: "
        "kept. Reposts are never shared.",
    )
    original_id: str | None = Field(
        default=None,
        pattern=NO_NUL,
        max_length=64,
        description="The reposted or quoted post: required for kinds repost and quote only.",
    )
    like_count: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    repost_count: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    reply_count: int | None = Field(default=None, ge=0, le=MAX_COUNT)


class PostOut(BaseModel):
    id: str
    account_id: str
    created_at: datetime
    text: str
    lang: str | None
    visibility: str
    reply_to: str | None
    kind: str
    original_id: str | None
    deleted_at: datetime | None
    like_count: int
    repost_count: int
    reply_count: int


class DeletionIn(Strict):
    deleted_at: Moment | None = Field(
        default=None,
        description="When it happened (default: now); not in the future (5 minutes of clock "
        "skew accepted). The earliest time sent counts.",
    )
