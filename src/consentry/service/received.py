"""Who received a user's posts, and everything of theirs that was delivered, from the shards.

The membership rows say which deliveries hold which of the user's posts under which record
pseudonym; the records themselves are read back from the delivery's Parquet shards with a
vectorized filter on those pseudonyms.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consentry.store.models import Collaborator, Delivery, DeliveryMember, DeliveryShard


class ReceivedView(BaseModel):
    delivery_id: str
    collaborator_id: str
    collaborator_name: str
    delivered_at: datetime
    posts: int


def deliveries_of_account(session: Session, account_id: str) -> list[ReceivedView]:
    """Completed deliveries that contain the account's posts, newest first."""
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.collaborator_id,
            Collaborator.name,
            func.coalesce(Delivery.finished_at, Delivery.started_at),
            func.count(),
        )
        .select_from(DeliveryMember)
        .join(Delivery, Delivery.id == DeliveryMember.delivery_id)
        .join(Collaborator, Collaborator.id == Delivery.collaborator_id)
        .where(DeliveryMember.account_id == account_id, Delivery.status == "complete")
        .group_by(Delivery.id, Delivery.collaborator_id, Collaborator.name)
        .group_by(Delivery.finished_at, Delivery.started_at)
    ).all()
    views = [
        ReceivedView(
            delivery_id=r[0],
            collaborator_id=r[1],
            collaborator_name=r[2],
            delivered_at=_aware(r[3]),
            posts=r[4],
        )
        for r in rows
    ]
    return sorted(views, key=lambda v: v.delivered_at, reverse=True)


def _aware(moment: datetime) -> datetime:
    # coalesce() loses the column type on SQLite, so the value may come back naive or as text.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def shared_records(session: Session, account_id: str, home: Path) -> dict[str, Any]:
    """Everything of the account's that was delivered, per delivery, as JSON-ready values."""
    out = []
    for received in deliveries_of_account(session, account_id):
        delivery = session.get(Delivery, received.delivery_id)
        assert delivery is not None
        members = session.execute(
            select(DeliveryMember.record_pseudonym, DeliveryMember.post_id).where(
                DeliveryMember.delivery_id == delivery.id,
                DeliveryMember.account_id == account_id,
            )
        ).all()
        post_of = dict(members)
        shards = session.scalars(
            select(DeliveryShard.name)
            .where(DeliveryShard.delivery_id == delivery.id)
            .order_by(DeliveryShard.name)
        ).all()
        records = _records(_delivery_dir(delivery.path, home), list(shards), list(post_of))
        for record in records:
            record_id = record.get("record_id")
            record["your_post_id"] = post_of.get(record_id) if isinstance(record_id, str) else None
        out.append({**received.model_dump(mode="json"), "records": records})
    return {
        "account_id": account_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "deliveries": out,
    }


def _delivery_dir(path: str, home: Path) -> Path:
    directory = Path(path)
    return directory if directory.is_absolute() else home / directory


def _records(directory: Path, shards: list[str], pseudonyms: list[str]) -> list[dict[str, Any]]:
    wanted = pc.field("record_id").isin(pa.array(pseudonyms, pa.string()))
    tables = [pq.read_table(directory / name, filters=wanted) for name in shards]
    if not tables:
        return []
    rows = pa.concat_tables(tables, promote_options="default").to_pylist()
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()} for row in rows
    ]
