"""The user's own record of sharing: per delivery, which posts went, how they were changed, and
what happened to each after (still shared, taken back, deleted by the collaborator, overdue).

One data function, ``shared_records``, is behind the JSON and CSV downloads and the platform
API's copy for data-access requests; the page shows ``received`` (the same, without reading the
records back from the shards). Post ids are the platform's own (users know their posts by them);
the record id is the pseudonym under which the collaborator holds the post.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel
from sqlalchemy.orm import Session

from consentry.domain.notices import NoticeReason
from consentry.errors import InvalidInput
from consentry.pipeline.manifest import read_manifest
from consentry.service.web.times import Viewer
from consentry.store.deliveries import (
    completed_shards,
    deliveries_of_account,
    delivery_directory,
    members_of_account,
)
from consentry.store.models import DeletionNotice
from consentry.store.notices import notices_of_account

Fate = Literal["shared", "withdrawn", "overdue", "deleted"]

CHANGE_WORDS = {
    "redact": "Email addresses, phone numbers, IP addresses, card numbers, street addresses and "
    "personal web links in your posts were replaced by placeholders such as [EMAIL].",
    "mentions": "@mentions of other people were replaced by a code, or by [USER] for people "
    "who do not share their posts.",
    "pseudonymize": "Your account, and each post, is shown as a code only {collaborator} has: "
    "not your name or handle.",
    "coarsen_timestamps": "Times were rounded to the {unit}.",
}
"""The manifest's transforms in plain words (``consent_filter`` changes no post)."""
UNCHANGED = "Your posts were shared as you wrote them."
UNKNOWN_CHANGES = "We could not read how this delivery was changed; ask us for its details."

WHY_TAKEN_BACK = {
    NoticeReason.CONSENT_WITHDRAWN: "Withdrawn",
    NoticeReason.POST_DELETED: "Taken back because the post was deleted",
    NoticeReason.ACCOUNT_DELETED: "Taken back because your account was deleted",
    NoticeReason.ACCOUNT_RESTRICTED: "Taken back because your account no longer allows sharing",
    NoticeReason.POST_RESTRICTED: "Taken back because the post is no longer public",
    NoticeReason.LICENSE_ENDED: "Taken back because our agreement with {collaborator} ended",
    NoticeReason.COLLABORATOR_TERMINATED: "Taken back because we stopped working with "
    "{collaborator}",
}


class SharedPost(BaseModel):
    post_id: str
    """The platform's own id of the post."""
    post_url: str
    record_id: str
    """What the collaborator calls it (a pseudonym when ids are pseudonymized)."""
    status: Fate
    what_happened: str
    reason: str | None = None
    """Why it was taken back (a deletion notice's reason), if it was."""
    notice_id: int | None = None
    told_at: datetime | None = None
    due_at: datetime | None = None
    deleted_at: datetime | None = None
    """When the collaborator confirmed deleting it."""


class _DeliveryHeader(BaseModel):
    delivery_id: str
    collaborator_id: str
    collaborator_name: str
    delivered_at: datetime
    posts: int
    changes: list[str]
    """How the posts were changed before delivery, in plain words."""


class ReceivedView(_DeliveryHeader):
    """One delivery holding the user's posts, as the page shows it."""

    shared_posts: list[SharedPost]


class SharedRecord(SharedPost):
    as_delivered: dict[str, Any] | None
    """The record exactly as the collaborator received it (None: its shard is unreadable)."""


class SharedDelivery(_DeliveryHeader):
    records: list[SharedRecord]


class SharedRecords(BaseModel):
    """Everything of one account's that was delivered: the downloads and the platform API."""

    account_id: str
    generated_at: datetime
    deliveries: list[SharedDelivery]


def received(
    session: Session,
    *,
    account_id: str,
    home: Path,
    now: datetime,
    post_url: Callable[[str], str],
    viewer: Viewer,
) -> list[ReceivedView]:
    """Completed deliveries holding the account's posts, newest first, with each post's fate
    (its dates as ``viewer`` reads them)."""
    members: dict[str, list[tuple[str, str]]] = {}
    for member in members_of_account(session, account_id=account_id):
        members.setdefault(member.delivery_id, []).append((member.post_id, member.record_pseudonym))
    noticed = {
        (record.delivery_id, record.post_id): notice
        for record, notice in notices_of_account(session, account_id)
    }
    views = []
    for delivery in deliveries_of_account(session, account_id=account_id):
        who = delivery.collaborator_name
        posts = [
            _shared_post(
                SharedPost(
                    post_id=post_id,
                    post_url=post_url(post_id),
                    record_id=record_id,
                    status="shared",
                    what_happened="Still shared.",
                ),
                noticed.get((delivery.delivery_id, post_id)),
                who,
                now,
                viewer,
            )
            for post_id, record_id in members.get(delivery.delivery_id, [])
        ]
        views.append(
            ReceivedView(
                delivery_id=delivery.delivery_id,
                collaborator_id=delivery.collaborator_id,
                collaborator_name=who,
                delivered_at=delivery.delivered_at,
                posts=delivery.posts,
                changes=_changes(delivery_directory(delivery.path, home), who),
                shared_posts=posts,
            )
        )
    return views


def _shared_post(
    shared: SharedPost, notice: DeletionNotice | None, who: str, now: datetime, viewer: Viewer
) -> SharedPost:
    """The post's fate in plain words: the notice that took it back, if any, decides."""
    if notice is None:
        return shared
    why = WHY_TAKEN_BACK.get(NoticeReason(notice.reason), "Taken back").format(collaborator=who)
    told = f"we told {who} on {viewer.date(notice.issued_at)} to delete it"
    status: Fate
    if notice.status == "acknowledged" and notice.acknowledged_at is not None:
        status = "deleted"
        words = (
            f"Deleted by {who} on {viewer.date(notice.acknowledged_at)}. "
            f"{why}: {told} (by {viewer.date(notice.due_at)})."
        )
    elif notice.due_at < now:
        status = "overdue"
        words = (
            f"{why}: {told} by {viewer.date(notice.due_at)}. Overdue: {who} has not yet "
            "confirmed deleting it, and we are following this up."
        )
    else:
        status = "withdrawn"
        words = f"{why}: {told} (by {viewer.date(notice.due_at)})."
    return shared.model_copy(
        update=dict(
            status=status,
            what_happened=words,
            reason=notice.reason,
            notice_id=notice.id,
            told_at=notice.issued_at,
            due_at=notice.due_at,
            deleted_at=notice.acknowledged_at if status == "deleted" else None,
        )
    )


def _changes(directory: Path, who: str) -> list[str]:
    """What the export did to the posts, from the signed manifest's transforms (the license
    says what was asked; the manifest says what was done)."""
    try:
        manifest = read_manifest(directory)
    except (OSError, InvalidInput):
        return [UNKNOWN_CHANGES]
    names = [t.name for t in manifest.transforms]
    unit = manifest.license.transforms.get("coarsen_timestamps") or "day"
    words = [
        CHANGE_WORDS[name].format(collaborator=who, unit=unit)
        for name in names
        if name in CHANGE_WORDS
    ]
    return words or [UNCHANGED]


def shared_records(
    session: Session,
    *,
    account_id: str,
    home: Path,
    now: datetime,
    post_url: Callable[[str], str],
    viewer: Viewer,
) -> SharedRecords:
    """Everything of the account's that was delivered, per delivery, each record as delivered
    (read back from the delivery's shards, filtered on the account's pseudonyms)."""
    deliveries = []
    by_id = {d.delivery_id: d for d in deliveries_of_account(session, account_id=account_id)}
    for view in received(
        session, account_id=account_id, home=home, now=now, post_url=post_url, viewer=viewer
    ):
        shards = [s.name for s in completed_shards(session, view.delivery_id)]
        directory = delivery_directory(by_id[view.delivery_id].path, home)
        rows = _records(directory, shards, [p.record_id for p in view.shared_posts])
        header = view.model_dump(exclude={"shared_posts"})
        deliveries.append(
            SharedDelivery(
                **header,
                records=[
                    SharedRecord(**post.model_dump(), as_delivered=rows.get(post.record_id))
                    for post in view.shared_posts
                ],
            )
        )
    return SharedRecords(account_id=account_id, generated_at=now, deliveries=deliveries)


def _records(directory: Path, shards: list[str], record_ids: list[str]) -> dict[str, Any]:
    """The delivered rows with these record ids, by record id (a missing shard gives none)."""
    wanted = pc.field("record_id").isin(pa.array(record_ids, pa.string()))
    tables = []
    for name in shards:
        try:
            tables.append(pq.read_table(directory / name, filters=wanted))
        except OSError:
            continue
    if not tables:
        return {}
    rows = pa.concat_tables(tables, promote_options="default").to_pylist()
    return {
        row["record_id"]: {
            k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()
        }
        for row in rows
    }


CSV_COLUMNS = [
    "delivery_id",
    "collaborator_id",
    "collaborator_name",
    "delivered_at",
    "changes",
    "post_id",
    "post_url",
    "record_id",
    "status",
    "what_happened",
    "reason",
    "notice_id",
    "told_at",
    "due_at",
    "deleted_at",
    "as_delivered",
]
"""One row per delivered post; ``changes`` joined by a space, ``as_delivered`` as JSON."""


def shared_records_csv(records: SharedRecords) -> str:
    """The same data as the JSON download, one row per delivered post."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for delivery in records.deliveries:
        header = delivery.model_dump(mode="json", exclude={"records", "posts"})
        header["changes"] = " ".join(delivery.changes)
        for record in delivery.records:
            row = record.model_dump(mode="json")
            row["as_delivered"] = json.dumps(record.as_delivered, sort_keys=True)
            writer.writerow({**header, **row})
    return out.getvalue()
