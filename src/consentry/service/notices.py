"""The one view of a deletion notice, behind the collaborator API, its webhook events, the
admin pages and the CLI, and the one way an acknowledgement is checked.

A notice names each record by its pseudonym as delivered (``record_id`` in the shards), never
by the platform's post or account id: the collaborator knows its records only by that id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from consentry.errors import InvalidInput
from consentry.store import notices
from consentry.store.models import DeletionNotice

SHA256_HEX = r"^[0-9a-fA-F]{64}$"


class NoticeRecord(BaseModel):
    delivery_id: str
    record_id: str
    """The record's pseudonym, as in the delivery's ``record_id`` column."""


class Notice(BaseModel):
    id: int
    """Also the feed's cursor: ask for ``?after=<id>`` to get what came later."""
    reason: str
    license_id: str
    issued_at: datetime
    due_at: datetime
    """Delete the records by then (the license's deletion SLA)."""
    status: Literal["issued", "acknowledged"]
    acknowledged_at: datetime | None
    record_count: int
    records: list[NoticeRecord]


class NoticeFeed(BaseModel):
    notices: list[Notice]
    next_cursor: int
    """The id of the last notice returned (or the cursor sent, when none): send it as
    ``after`` next time."""


class ShardHash(BaseModel):
    delivery_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    """The shard's file name, as delivered (``part-00000.parquet``)."""
    sha256: str = Field(pattern=SHA256_HEX, description="SHA-256 of the shard after deletion.")


class Acknowledgement(BaseModel):
    """What a collaborator says when it has deleted a notice's records."""

    shards: list[ShardHash] = Field(default_factory=list, max_length=10_000)
    note: str | None = Field(default=None, max_length=2000)


class NoticeEvent(BaseModel):
    """A Standard Webhooks payload."""

    type: Literal["notice.issued"] = "notice.issued"
    timestamp: datetime
    data: Notice


def notice_view(session: Session, notice: DeletionNotice) -> Notice:
    return Notice(
        id=notice.id,
        reason=notice.reason,
        license_id=notice.license_id,
        issued_at=notice.issued_at,
        due_at=notice.due_at,
        status=notice.status,  # type: ignore[arg-type]
        acknowledged_at=notice.acknowledged_at,
        record_count=notice.record_count,
        records=[
            NoticeRecord(delivery_id=r.delivery_id, record_id=r.record_pseudonym)
            for r in notices.records_of(session, notice.id)
        ],
    )


def notice_event(session: Session, notice: DeletionNotice) -> NoticeEvent:
    return NoticeEvent(timestamp=notice.issued_at, data=notice_view(session, notice))


def acknowledge(
    session: Session,
    *,
    notice_id: int,
    collaborator_id: str | None,
    acknowledgement: Acknowledgement,
    actor: str,
) -> DeletionNotice:
    """Acknowledge after checking that every shard belongs to a delivery the notice names (a
    second acknowledgement is a conflict, whatever it says)."""
    notice = notices.get_notice(session, notice_id, collaborator_id=collaborator_id)
    if notice.status == "issued":
        named = sorted({r.delivery_id for r in notices.records_of(session, notice_id)})
        for i, shard in enumerate(acknowledgement.shards):
            if shard.delivery_id not in named:
                raise InvalidInput(
                    f"delivery {shard.delivery_id!r} is not one this notice names; list only "
                    f"shards of {', '.join(named)} (the deliveries in the notice's records)",
                    field=f"shards[{i}].delivery_id",
                )
    shards = [
        {"delivery_id": s.delivery_id, "name": s.name, "sha256": s.sha256.lower()}
        for s in acknowledgement.shards
    ]
    return notices.acknowledge_notice(
        session,
        notice_id=notice_id,
        collaborator_id=collaborator_id,
        acknowledgement={"shards": shards, "note": acknowledgement.note, "by": actor},
        actor=actor,
    )
