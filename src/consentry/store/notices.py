"""Deletion notices: issued to a collaborator for delivered records that stopped being allowed.

A notice names its records (delivery, post, pseudonym as delivered) and is issued once per
record: the unique (collaborator, delivery, post) on ``deletion_notice_records`` makes issuing
idempotent even when two propagations race. The notice's id is the collaborator's feed cursor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.orm import Session

from consentry.errors import Conflict, NotFound
from consentry.store import webhooks
from consentry.store.arrow_io import read_table
from consentry.store.content import append_rows
from consentry.store.db import connected, id_list_in
from consentry.store.ledger import append_audit_event
from consentry.store.models import DeletionNotice, DeletionNoticeRecord

MEMBER_COLUMNS = pa.schema(
    [
        pa.field("delivery_id", pa.string(), nullable=False),
        pa.field("post_id", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("record_pseudonym", pa.string(), nullable=False),
        pa.field("license_id", pa.string(), nullable=False),
        pa.field("collaborator_id", pa.string(), nullable=False),
    ]
)
"""A delivered record as propagation judges it."""

STAGE_ABOVE = 20_000
"""A notice of more records than this is staged in bulk (``store.content.append_rows``, which
needs a ``bulk_session``); a smaller one is a plain multi-row insert, which leaves the pooled
connection's page cache as it was (a staged load resizes it)."""

_LIVE_MEMBERS = """
delivery_members m
JOIN deliveries d ON d.id = m.delivery_id
LEFT JOIN deletion_notice_records r
  ON r.collaborator_id = d.collaborator_id AND r.delivery_id = m.delivery_id
 AND r.post_id = m.post_id
"""
_LIVE_COLUMNS = [
    "m.delivery_id",
    "m.post_id",
    "m.account_id",
    "m.record_pseudonym",
    "d.license_id",
    "d.collaborator_id",
]
_LIVE_WHERE = "d.status = 'complete' AND r.post_id IS NULL"


def live_members(db: Engine | Connection, *, account_ids: Sequence[str] | None) -> pa.Table:
    """Delivered records no notice has taken back yet: of ``account_ids`` (one indexed query,
    the ids as one JSON parameter), or of everyone (``db`` an Engine; streamed through ADBC)."""
    if account_ids is None:
        if not isinstance(db, Engine):
            raise TypeError("a read of every member needs an Engine (it streams through ADBC)")
        return read_table(
            db, table=_LIVE_MEMBERS, schema=MEMBER_COLUMNS, columns=_LIVE_COLUMNS, where=_LIVE_WHERE
        )
    # The joins are done in Arrow: the database only walks its account index, and the few
    # deliveries and the accounts' earlier notices come in two small queries.
    with connected(db) as conn:
        in_ids, ids = id_list_in(conn, account_ids)
        within = f"WHERE account_id {in_ids}"
        held = _string_columns(
            conn,
            ["delivery_id", "post_id", "account_id", "record_pseudonym"],
            f"FROM delivery_members {within}",
            ids,
        )
        noticed = _string_columns(
            conn,
            ["collaborator_id", "delivery_id", "post_id"],
            f"FROM deletion_notice_records {within}",
            ids,
        )
        deliveries = _string_columns(
            conn,
            ["id", "license_id", "collaborator_id"],
            "FROM deliveries WHERE status = 'complete'",
            {},
        ).rename_columns(["delivery_id", "license_id", "collaborator_id"])
    held = held.join(deliveries, keys="delivery_id", join_type="inner")
    if noticed.num_rows:
        held = held.join(
            noticed, keys=["collaborator_id", "delivery_id", "post_id"], join_type="left anti"
        )
    return held.select(MEMBER_COLUMNS.names).cast(MEMBER_COLUMNS)


def _string_columns(
    conn: Connection, names: list[str], source: str, params: dict[str, str]
) -> pa.Table:
    """String columns of a query, each aggregated by the database into one JSON array.

    A hundred thousand rows would cost a Python tuple each through the driver; one JSON text
    per column is parsed in C (json.loads) and handed to Arrow whole."""
    aggregate = "json_group_array" if conn.dialect.name == "sqlite" else "json_agg"
    sql = f"SELECT {', '.join(f'{aggregate}({n})' for n in names)} {source}"
    row = conn.execute(text(sql), params).one()
    return pa.table(
        {
            name: pa.array(_json_list(value), pa.string())
            for name, value in zip(names, row, strict=True)
        }
    )


def _json_list(value: object) -> list[object]:
    """A JSON array as the driver hands it back: text (SQLite), parsed, or NULL (PostgreSQL)."""
    if value is None:
        return []
    parsed = json.loads(value) if isinstance(value, str) else value
    return list(parsed) if isinstance(parsed, list) else []


def withdrawn_post_ids(engine: Engine, *, collaborator_id: str) -> pa.Table:
    """Posts a notice took back from this collaborator (no later delivery holds them again)."""
    quoted = collaborator_id.replace("'", "''")
    return read_table(
        engine,
        table="deletion_notice_records",
        schema=pa.schema([pa.field("post_id", pa.string(), nullable=False)]),
        columns=["DISTINCT post_id"],
        where=f"collaborator_id = '{quoted}'",
    )


def issue_notice(
    session: Session,
    *,
    collaborator_id: str,
    license_id: str,
    reason: str,
    records: pa.Table,
    sla_days: int,
    issued_at: datetime,
    actor: str,
) -> DeletionNotice:
    """One notice for ``records`` (``MEMBER_COLUMNS``), due ``sla_days`` after issue; audited."""
    notice = DeletionNotice(
        collaborator_id=collaborator_id,
        license_id=license_id,
        reason=reason,
        record_count=records.num_rows,
        issued_at=issued_at,
        due_at=issued_at + timedelta(days=sla_days),
        status="issued",
    )
    session.add(notice)
    session.flush()
    # In key order: the clustered key and its b-tree take the rows as appends.
    rows = records.select(
        ["collaborator_id", "delivery_id", "post_id", "account_id", "record_pseudonym"]
    ).sort_by([("delivery_id", "ascending"), ("post_id", "ascending")])
    rows = rows.append_column("notice_id", pa.array([notice.id] * rows.num_rows, pa.int64()))
    if rows.num_rows <= STAGE_ABOVE:
        session.execute(insert(DeletionNoticeRecord), rows.to_pylist())
    else:
        append_rows(session, DeletionNoticeRecord.__tablename__, rows)
    webhooks.enqueue_notice(session, notice=notice)
    append_audit_event(
        session,
        actor=actor,
        action="notice.issue",
        object_type="deletion_notice",
        object_id=str(notice.id),
        details={
            "collaborator_id": collaborator_id,
            "license_id": license_id,
            "reason": reason,
            "records": records.num_rows,
            "due_at": notice.due_at.isoformat(),
        },
    )
    return notice


def get_notice(
    session: Session, notice_id: int, *, collaborator_id: str | None = None
) -> DeletionNotice:
    """A notice; for a collaborator only its own (another's is 404, as if it did not exist)."""
    notice = session.get(DeletionNotice, notice_id)
    if notice is None or (
        collaborator_id is not None and notice.collaborator_id != collaborator_id
    ):
        raise NotFound("deletion notice", str(notice_id))
    return notice


def notices_after(
    session: Session, *, collaborator_id: str, cursor: int = 0, limit: int = 100
) -> list[DeletionNotice]:
    """The collaborator's feed: notices with an id above ``cursor``, oldest first."""
    return list(
        session.scalars(
            select(DeletionNotice)
            .where(DeletionNotice.collaborator_id == collaborator_id, DeletionNotice.id > cursor)
            .order_by(DeletionNotice.id)
            .limit(limit)
        )
    )


def list_notices(
    session: Session, *, collaborator_id: str | None = None, status: str | None = None
) -> list[DeletionNotice]:
    query = select(DeletionNotice).order_by(DeletionNotice.id.desc())
    if collaborator_id is not None:
        query = query.where(DeletionNotice.collaborator_id == collaborator_id)
    if status is not None:
        query = query.where(DeletionNotice.status == status)
    return list(session.scalars(query))


def overdue_notices(session: Session, *, now: datetime | None = None) -> list[DeletionNotice]:
    """Issued, not acknowledged, and past their due time."""
    moment = now or datetime.now(UTC)
    return list(
        session.scalars(
            select(DeletionNotice)
            .where(DeletionNotice.status == "issued", DeletionNotice.due_at < moment)
            .order_by(DeletionNotice.due_at)
        )
    )


def records_of(session: Session, notice_id: int) -> list[DeletionNoticeRecord]:
    return list(
        session.scalars(
            select(DeletionNoticeRecord)
            .where(DeletionNoticeRecord.notice_id == notice_id)
            .order_by(DeletionNoticeRecord.delivery_id, DeletionNoticeRecord.record_pseudonym)
        )
    )


def notices_of_account(
    session: Session, account_id: str
) -> list[tuple[DeletionNoticeRecord, DeletionNotice]]:
    """Every notice that took back one of this account's records (for the user's own page)."""
    rows = session.execute(
        select(DeletionNoticeRecord, DeletionNotice)
        .join(DeletionNotice, DeletionNotice.id == DeletionNoticeRecord.notice_id)
        .where(DeletionNoticeRecord.account_id == account_id)
        .order_by(DeletionNotice.id)
    )
    return [(record, notice) for record, notice in rows]


def acknowledge_notice(
    session: Session,
    *,
    notice_id: int,
    collaborator_id: str | None,
    acknowledgement: dict[str, Any],
    actor: str,
) -> DeletionNotice:
    """Record the collaborator's acknowledgement (once; a second one is a conflict); audited.

    ``collaborator_id`` None is staff acknowledging on the collaborator's behalf (CLI)."""
    notice = get_notice(session, notice_id, collaborator_id=collaborator_id)
    if notice.status == "acknowledged":
        raise Conflict(
            f"deletion notice {notice_id} was already acknowledged at "
            f"{notice.acknowledged_at.isoformat() if notice.acknowledged_at else '?'}"
        )
    notice.status = "acknowledged"
    notice.acknowledged_at = datetime.now(UTC)
    notice.acknowledgement = acknowledgement
    append_audit_event(
        session,
        actor=actor,
        action="notice.ack",
        object_type="deletion_notice",
        object_id=str(notice_id),
        details={"collaborator_id": notice.collaborator_id, **acknowledgement},
    )
    return notice


def notice_counts(session: Session) -> dict[str, int]:
    """Notices by status, for the admin overview."""
    rows = session.execute(
        select(DeletionNotice.status, func.count()).group_by(DeletionNotice.status)
    )
    return {status: count for status, count in rows}
