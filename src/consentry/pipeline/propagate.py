"""Propagation: judge delivered records again, now, and take back those no longer allowed.

The delivered membership (what the platform keeps of each delivered record) is read by account
(an index), never by re-reading shards; each record is judged through the one consent snapshot
with cut-off = as-of = now, exactly as a new export would judge it; every record it now excludes
goes into a deletion notice for the collaborator holding it, one notice per license and reason.
A record is taken back once (the store's unique key), so running it again issues nothing new.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from consentry.domain import consent_bulk
from consentry.domain.notices import NoticeReason, notice_reason
from consentry.domain.types import ExclusionReason, LicenseFacts
from consentry.store import notices
from consentry.store.content import bulk_session
from consentry.store.snapshot import ConsentInputs, consent_inputs, posts_by_id

ENDED_LICENSE_STATUSES = frozenset({"ended", "terminated", "expired"})
"""A license in one of these, or past its term's end, takes back everything it delivered; a
suspended one delivers nothing new but takes nothing back."""


@dataclass
class PropagationReport:
    judged: int = 0
    """Delivered records judged again (those not taken back before)."""
    notices: list[int] = field(default_factory=list)
    records: Counter[str] = field(default_factory=Counter)
    """Records taken back, by notice reason."""

    def summary(self) -> str:
        taken = ", ".join(f"{n} {reason}" for reason, n in sorted(self.records.items()))
        return (
            f"{self.judged} delivered records judged; {len(self.notices)} deletion notices "
            f"issued{f' ({taken})' if taken else ''}"
        )


_serial = threading.Lock()
"""Propagations in one process run one at a time; across processes the unique key decides."""


def propagate(
    engine: Engine,
    *,
    account_ids: Sequence[str] | None = None,
    now: datetime | None = None,
    actor: str = "propagation",
) -> PropagationReport:
    """Judge the delivered records of ``account_ids`` (default: everyone's) now, and issue a
    deletion notice for each (collaborator, license, reason) with records to take back."""
    with _serial:
        try:
            return _propagate_once(engine, account_ids, now or datetime.now(UTC), actor)
        except IntegrityError:
            # Another process issued some of these records meanwhile: judge what is left.
            return _propagate_once(engine, account_ids, now or datetime.now(UTC), actor)


def _propagate_once(
    engine: Engine, account_ids: Sequence[str] | None, moment: datetime, actor: str
) -> PropagationReport:
    report = PropagationReport()
    members = notices.live_members(engine, account_ids=account_ids)
    report.judged = members.num_rows
    if not members.num_rows:
        return report
    accounts = pc.unique(members["account_id"]).to_pylist()
    inputs = consent_inputs(engine, account_ids=None if account_ids is None else accounts)
    posts = posts_by_id(engine, None if account_ids is None else pc.unique(members["post_id"]))
    taken: list[tuple[LicenseFacts, str, pa.Table]] = []
    licenses = {lic.id: lic for lic in inputs.reference.licenses}
    for license_id in pc.unique(members["license_id"]).to_pylist():
        license = licenses[license_id]
        held = members.filter(pc.equal(members["license_id"], license_id))
        for reason, records in _to_take_back(inputs, posts, license, held, moment):
            taken.append((license, reason, records))
    if not taken:
        return report
    with bulk_session(engine) as session:
        for license, reason, records in taken:
            notice = notices.issue_notice(
                session,
                collaborator_id=license.collaborator_id,
                license_id=license.id,
                reason=reason,
                records=records,
                sla_days=license.deletion_sla_days,
                issued_at=moment,
                actor=actor,
            )
            report.notices.append(notice.id)
            report.records[reason] += records.num_rows
    return report


def _to_take_back(
    inputs: ConsentInputs,
    posts: pa.Table,
    license: LicenseFacts,
    held: pa.Table,
    moment: datetime,
) -> list[tuple[str, pa.Table]]:
    """(notice reason, records) for the records of one license that must be taken back."""
    collaborator = inputs.reference.collaborator(license.collaborator_id)
    if collaborator.status == "terminated":
        return [(NoticeReason.COLLABORATOR_TERMINATED.value, held)]
    ended = license.status in ENDED_LICENSE_STATUSES or (
        license.term_end is not None and moment >= license.term_end
    )
    if ended:
        return [(NoticeReason.LICENSE_ENDED.value, held)]
    mine = posts.filter(pc.is_in(posts["id"], value_set=held["post_id"]))
    con = consent_bulk.thread_connection()
    snapshot = inputs.snapshot(
        purpose=license.purpose,
        collaborator_id=license.collaborator_id,
        cutoff=moment,
        as_of=moment,
        con=con,
    )
    # The rule judges the post as it is now under a license assumed in force now: the term and
    # status were handled above, so only consent and the record itself decide here.
    in_force = LicenseFacts(license.id, license.collaborator_id, license.purpose, license.scope)
    verdicts = consent_bulk.post_verdicts(
        mine, snapshot, in_force, cutoff=moment, as_of=moment, con=con
    )
    reason_of = dict(
        zip(verdicts["post_id"].to_pylist(), verdicts["reason"].to_pylist(), strict=True)
    )
    deleted_accounts = _deleted_accounts(inputs, moment)
    grouped: dict[str, list[int]] = {}
    for row, (post_id, account_id) in enumerate(
        zip(held["post_id"].to_pylist(), held["account_id"].to_pylist(), strict=True)
    ):
        if post_id not in reason_of:
            reason = NoticeReason.POST_DELETED  # the platform no longer has the post at all
        elif reason_of[post_id] is None:
            continue
        else:
            reason = notice_reason(
                ExclusionReason(reason_of[post_id]),
                account_deleted=account_id in deleted_accounts,
            )
        grouped.setdefault(reason.value, []).append(row)
    return [(reason, held.take(rows)) for reason, rows in sorted(grouped.items())]


def _deleted_accounts(inputs: ConsentInputs, moment: datetime) -> set[str]:
    accounts = inputs.accounts
    deleted = pc.fill_null(pc.less_equal(accounts["deleted_at"], pa.scalar(moment)), False)
    return set(accounts.filter(deleted)["id"].to_pylist())
