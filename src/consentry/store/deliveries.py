"""Deliveries, their shards and their membership (what the platform keeps, never the collaborator).

A shard and its members are committed in one transaction, after the shard file is in place under
its final name: that row is the completion marker a resumed export trusts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from consentry.errors import NotFound
from consentry.store.arrow_io import read_table
from consentry.store.content import append_rows, bulk_session
from consentry.store.ledger import append_audit_event
from consentry.store.models import Collaborator, Delivery, DeliveryMember, DeliveryShard

MEMBER_SCHEMA = pa.schema(
    [
        ("delivery_id", pa.string()),
        ("post_id", pa.string()),
        ("account_id", pa.string()),
        ("record_pseudonym", pa.string()),
        ("basis_event_id", pa.int64()),
        ("basis_policy_version", pa.string()),
        ("basis_default", pa.string()),
    ]
)

MEMBERS_CACHE_KIB = 32_768
"""SQLite's page cache while a shard's members go in: the bulk default (256 MiB) would come on
top of the export's own memory, and inserting 524,288 members (10M posts, 3 shards) was measured
no slower with this one."""


def start_delivery(
    session: Session,
    *,
    id: str,
    license_id: str,
    collaborator_id: str,
    kind: str,
    previous_delivery_id: str | None,
    cutoff: datetime,
    as_of: datetime,
    engine_name: str,
    path: str,
    actor: str,
) -> Delivery:
    delivery = Delivery(
        id=id,
        license_id=license_id,
        collaborator_id=collaborator_id,
        kind=kind,
        previous_delivery_id=previous_delivery_id,
        cutoff=cutoff,
        started_at=as_of,
        status="running",
        engine=engine_name,
        path=path,
        record_count=0,
        counts={},
    )
    session.add(delivery)
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="delivery.start",
        object_type="delivery",
        object_id=id,
        details={"license_id": license_id, "kind": kind, "cutoff": cutoff.isoformat()},
    )
    return delivery


def next_delivery_id(session: Session, license_id: str, cutoff: datetime) -> str:
    stem = f"{license_id}-{cutoff.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    taken = session.scalar(select(func.count()).where(Delivery.id.like(f"{stem}%")))
    return stem if not taken else f"{stem}-{taken + 1}"


def running_delivery_at(session: Session, path: str) -> Delivery | None:
    return session.scalars(
        select(Delivery).where(Delivery.path == path).order_by(Delivery.started_at.desc())
    ).first()


def previous_delivery(session: Session, license_id: str) -> Delivery | None:
    return session.scalars(
        select(Delivery)
        .where(Delivery.license_id == license_id, Delivery.status == "complete")
        .order_by(Delivery.cutoff.desc(), Delivery.finished_at.desc())
    ).first()


def completed_shards(session: Session, delivery_id: str) -> list[DeliveryShard]:
    return list(
        session.scalars(
            select(DeliveryShard)
            .where(DeliveryShard.delivery_id == delivery_id)
            .order_by(DeliveryShard.name)
        )
    )


def record_shard(
    engine: Engine,
    *,
    delivery_id: str,
    name: str,
    sha256: str,
    rows: int,
    size: int,
    members: pa.Table,
) -> None:
    """Commit one finished shard and its members atomically (members staged in bulk).

    Staged in account order: each member also goes into the account index, which holds every
    delivery's members, and rows inserted in that index's order touch each of its pages once
    instead of one page at random per row. With a small page cache (``MEMBERS_CACHE_KIB``)."""
    staged = members.select(MEMBER_SCHEMA.names).cast(MEMBER_SCHEMA).sort_by("account_id")
    with bulk_session(engine, cache_kib=MEMBERS_CACHE_KIB) as session:
        append_rows(session, "delivery_members", staged)
        session.execute(
            insert(DeliveryShard),
            [
                {
                    "delivery_id": delivery_id,
                    "name": name,
                    "sha256": sha256,
                    "rows": rows,
                    "bytes": size,
                }
            ],
        )


def complete_delivery(
    session: Session,
    *,
    delivery_id: str,
    record_count: int,
    counts: dict[str, Any],
    manifest_sha256: str,
    manifest_signature: str,
    actor: str,
) -> Delivery:
    delivery = get_delivery(session, delivery_id)
    delivery.status = "complete"
    delivery.finished_at = datetime.now(UTC)
    delivery.record_count = record_count
    delivery.counts = counts
    delivery.manifest_sha256 = manifest_sha256
    delivery.manifest_signature = manifest_signature
    append_audit_event(
        session,
        actor=actor,
        action="delivery.complete",
        object_type="delivery",
        object_id=delivery_id,
        details={"records": record_count, "manifest_sha256": manifest_sha256},
    )
    return delivery


def get_delivery(
    session: Session, delivery_id: str, *, listing: str = "consentry deliveries list"
) -> Delivery:
    """Any delivery, for the platform's own staff; ``listing`` is where to look ids up."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("delivery", delivery_id, listing=listing)
    return delivery


def list_deliveries(
    session: Session, *, collaborator_id: str | None = None, complete_only: bool = False
) -> list[Delivery]:
    """Deliveries, newest first; one collaborator's with ``collaborator_id``."""
    query = select(Delivery).order_by(Delivery.started_at.desc(), Delivery.id)
    if collaborator_id is not None:
        query = query.where(Delivery.collaborator_id == collaborator_id)
    if complete_only:
        query = query.where(Delivery.status == "complete")
    return list(session.scalars(query))


COLLABORATOR_LISTING = "GET /api/collaborator/deliveries"


def get_delivery_of(session: Session, *, delivery_id: str, collaborator_id: str) -> Delivery:
    """The collaborator's complete delivery. Another collaborator's, or one still running, is
    as absent as a missing one (the same NotFound), so ids of others' deliveries leak nothing."""
    delivery = session.get(Delivery, delivery_id)
    if (
        delivery is None
        or delivery.collaborator_id != collaborator_id
        or delivery.status != "complete"
    ):
        raise NotFound("delivery", delivery_id, listing=COLLABORATOR_LISTING)
    return delivery


def get_shard(session: Session, *, delivery_id: str, name: str) -> DeliveryShard:
    """A registered shard of the delivery (only registered names ever reach the disk)."""
    shard = session.scalars(
        select(DeliveryShard).where(
            DeliveryShard.delivery_id == delivery_id, DeliveryShard.name == name
        )
    ).first()
    if shard is None:
        raise NotFound("shard", name, listing=f"{COLLABORATOR_LISTING}/{delivery_id}")
    return shard


def account_count(session: Session, *, delivery_id: str) -> int:
    """How many accounts' posts the delivery holds."""
    return (
        session.scalar(
            select(func.count(func.distinct(DeliveryMember.account_id))).where(
                DeliveryMember.delivery_id == delivery_id
            )
        )
        or 0
    )


def delivered_post_ids(engine: Engine, license_id: str) -> pa.Table:
    """Every post already delivered under ``license_id`` by a complete delivery (for deltas)."""
    return read_table(
        engine,
        table="delivery_members m JOIN deliveries d ON d.id = m.delivery_id",
        schema=pa.schema([pa.field("post_id", pa.string(), nullable=False)]),
        columns=["DISTINCT m.post_id"],  # a post may be in several earlier deliveries
        where=f"d.license_id = '{_quote(license_id)}' AND d.status = 'complete'",
    )


def members_of(session: Session, delivery_id: str) -> list[DeliveryMember]:
    return list(
        session.scalars(
            select(DeliveryMember)
            .where(DeliveryMember.delivery_id == delivery_id)
            .order_by(DeliveryMember.post_id)
        )
    )


def _quote(value: str) -> str:
    return value.replace("'", "''")


@dataclass(frozen=True)
class AccountDelivery:
    """A complete delivery holding some of one account's posts, as the user's page shows it."""

    delivery_id: str
    collaborator_id: str
    collaborator_name: str
    delivered_at: datetime
    path: str
    posts: int


def deliveries_of_account(session: Session, *, account_id: str) -> list[AccountDelivery]:
    """Complete deliveries holding the account's posts, newest first (the membership index)."""
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.collaborator_id,
            Collaborator.name,
            func.coalesce(Delivery.finished_at, Delivery.started_at),
            Delivery.path,
            func.count(),
        )
        .select_from(DeliveryMember)
        .join(Delivery, Delivery.id == DeliveryMember.delivery_id)
        .join(Collaborator, Collaborator.id == Delivery.collaborator_id)
        .where(DeliveryMember.account_id == account_id, Delivery.status == "complete")
        .group_by(Delivery.id, Delivery.collaborator_id, Collaborator.name, Delivery.path)
        .group_by(Delivery.finished_at, Delivery.started_at)
    ).all()
    found = [
        AccountDelivery(
            delivery_id=r[0],
            collaborator_id=r[1],
            collaborator_name=r[2],
            delivered_at=_aware(r[3]),
            path=r[4],
            posts=r[5],
        )
        for r in rows
    ]
    return sorted(found, key=lambda d: (d.delivered_at, d.delivery_id), reverse=True)


def members_of_account(session: Session, *, account_id: str) -> list[DeliveryMember]:
    """The account's delivered records in complete deliveries, by delivery then post."""
    return list(
        session.scalars(
            select(DeliveryMember)
            .join(Delivery, Delivery.id == DeliveryMember.delivery_id)
            .where(DeliveryMember.account_id == account_id, Delivery.status == "complete")
            .order_by(DeliveryMember.delivery_id, DeliveryMember.post_id)
        )
    )


def _aware(moment: datetime | str) -> datetime:
    # coalesce() loses the column type on SQLite, so the value may come back naive or as text.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def delivery_directory(path: str, home: Path) -> Path:
    """A delivery's directory: its stored path, relative paths under ``home``."""
    directory = Path(path)
    return directory if directory.is_absolute() else home / directory
