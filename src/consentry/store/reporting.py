"""What the reports read besides the consent snapshot: deliveries, deletion notices, notices
served, deleted accounts, data-access and opt-out requests, as Arrow tables for aggregation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consentry.domain.types import ConsentSource
from consentry.store.models import (
    Account,
    AuditEvent,
    ConsentEvent,
    DeletionNotice,
    DeletionNoticeRecord,
    Delivery,
    DeliveryMember,
    NoticeServed,
    Post,
)
from consentry.store.snapshot import rows_to_table

TS = pa.timestamp("us", tz="UTC")

DELIVERY_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("license_id", pa.string()),
        ("collaborator_id", pa.string()),
        ("cutoff", TS),
        ("record_count", pa.int64()),
    ]
)
NOTICE_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("collaborator_id", pa.string()),
        ("license_id", pa.string()),
        ("reason", pa.string()),
        ("record_count", pa.int64()),
        ("issued_at", TS),
        ("due_at", TS),
        ("acknowledged_at", TS),
    ]
)
OPT_OUT_SCHEMA = pa.schema([("recorded_at", TS), ("effective_at", TS)])
DELETION_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("deleted_at", TS),
        ("records", pa.int64()),
        ("unacknowledged", pa.int64()),
        ("last_acknowledged_at", TS),
    ]
)


def complete_deliveries(session: Session) -> tuple[pa.Table, list[dict[str, int]]]:
    """Complete deliveries, and each one's exclusion counts per reason (same order)."""
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.license_id,
            Delivery.collaborator_id,
            Delivery.cutoff,
            Delivery.record_count,
            Delivery.counts,
        )
        .where(Delivery.status == "complete")
        .order_by(Delivery.cutoff, Delivery.id)
    ).all()
    table = rows_to_table([r[:5] for r in rows], DELIVERY_SCHEMA)
    excluded = [dict((r.counts or {}).get("excluded") or {}) for r in rows]
    return table, excluded


def deletion_notices(session: Session) -> pa.Table:
    rows = session.execute(
        select(
            DeletionNotice.id,
            DeletionNotice.collaborator_id,
            DeletionNotice.license_id,
            DeletionNotice.reason,
            DeletionNotice.record_count,
            DeletionNotice.issued_at,
            DeletionNotice.due_at,
            DeletionNotice.acknowledged_at,
        ).order_by(DeletionNotice.id)
    ).all()
    return rows_to_table(rows, NOTICE_SCHEMA)


def accounts_notified(session: Session, *, version: str, by: datetime) -> int:
    """Distinct accounts shown a notice or banner of ``version`` at or before ``by``."""
    return (
        session.scalar(
            select(func.count(func.distinct(NoticeServed.account_id))).where(
                NoticeServed.policy_version == version, NoticeServed.shown_at <= by
            )
        )
        or 0
    )


def accounts_alive(session: Session, *, at: datetime) -> int:
    """Accounts not deleted by ``at`` (created by then, where the platform sent a creation
    time)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Account)
            .where(
                (Account.deleted_at.is_(None)) | (Account.deleted_at > at),
                (Account.created_at.is_(None)) | (Account.created_at <= at),
            )
        )
        or 0
    )


def account_deletions(session: Session) -> pa.Table:
    """Deleted accounts with their delivered records taken back by deletion notices: how many,
    how many not yet acknowledged, and the last acknowledgement."""
    noticed = (
        select(
            DeletionNoticeRecord.account_id.label("account_id"),
            func.count().label("records"),
            func.count(DeletionNotice.acknowledged_at).label("acknowledged"),
            func.max(DeletionNotice.acknowledged_at).label("last_ack"),
        )
        .join(DeletionNotice, DeletionNotice.id == DeletionNoticeRecord.notice_id)
        .group_by(DeletionNoticeRecord.account_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Account.id,
            Account.deleted_at,
            func.coalesce(noticed.c.records, 0),
            func.coalesce(noticed.c.records - noticed.c.acknowledged, 0),
            noticed.c.last_ack,
        )
        .outerjoin(noticed, noticed.c.account_id == Account.id)
        .where(Account.deleted_at.is_not(None))
        .order_by(Account.id)
    ).all()
    return rows_to_table(rows, DELETION_SCHEMA)


def access_requests(session: Session) -> list[datetime]:
    """When the platform asked for an account's own record (a request to know), audited."""
    return list(
        session.scalars(
            select(AuditEvent.at)
            .where(AuditEvent.action == "account.shared_records")
            .order_by(AuditEvent.id)
        )
    )


def opt_outs(session: Session, *, sources: Sequence[str]) -> pa.Table:
    """When each refusal from ``sources`` was recorded and took effect (``OPT_OUT_SCHEMA``):
    the ledger's requests to opt out, counted, not judged (the consent rule reads the ledger
    through ``store.snapshot``)."""
    rows = session.execute(
        select(ConsentEvent.recorded_at, ConsentEvent.effective_at)
        .where(ConsentEvent.decision == "deny", ConsentEvent.source.in_(sources))
        .order_by(ConsentEvent.id)
    ).all()
    return rows_to_table(rows, OPT_OUT_SCHEMA)


def gpc_accounts(session: Session) -> list[str]:
    """Accounts that sent a Global Privacy Control signal, in id order."""
    return list(
        session.scalars(
            select(ConsentEvent.account_id)
            .where(ConsentEvent.source == ConsentSource.GPC.value)
            .distinct()
            .order_by(ConsentEvent.account_id)
        )
    )


def post_languages(session: Session, *, limit: int = 200) -> list[str]:
    """The languages the platform's posts are in (for the license form's choices)."""
    return [
        lang
        for lang in session.scalars(
            select(Post.lang)
            .where(Post.lang.is_not(None))
            .distinct()
            .order_by(Post.lang)
            .limit(limit)
        )
        if lang
    ]


DELIVERED_ACCOUNT_SCHEMA = pa.schema([("cutoff", TS), ("account_id", pa.string())])


def delivered_accounts(session: Session) -> pa.Table:
    """Each complete delivery's cut-off with each account it carried posts of (once per
    delivery): what "accounts whose posts were shared, per month" counts."""
    rows = session.execute(
        select(Delivery.cutoff, DeliveryMember.account_id)
        .join(DeliveryMember, DeliveryMember.delivery_id == Delivery.id)
        .where(Delivery.status == "complete")
        .distinct()
    ).all()
    return rows_to_table(rows, DELIVERED_ACCOUNT_SCHEMA)
