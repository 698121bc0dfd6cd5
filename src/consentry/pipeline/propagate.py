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
from consentry.store.db import session_scope
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
    big = sum(records.num_rows for _, _, records in taken) > notices.STAGE_ABOVE
    with bulk_session(engine) if big else session_scope(engine) as session:
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
    )
    # The rule judges the post as it is now under a license assumed in force now: the term and
    # status were handled above, so only consent and the record itself decide here.
    in_force = LicenseFacts(license.id, license.collaborator_id, license.purpose, license.scope)
    verdicts = consent_bulk.post_verdicts(
        mine, snapshot, in_force, cutoff=moment, as_of=moment, con=con
    )
    # Every held record gets the rule's reason now (null: still allowed; no verdict: the post is
    # gone from the store), then the notice reason, all column-wise.
    judged = held.join(
        verdicts.select(["post_id", "reason"]), keys="post_id", join_type="left outer"
    )
    gone = pc.invert(pc.is_in(judged["post_id"], value_set=verdicts["post_id"]))
    judged = judged.filter(pc.or_(gone, pc.is_valid(judged["reason"])))
    if not judged.num_rows:
        return []
    account_gone = pc.is_in(judged["account_id"], value_set=_deleted_accounts(inputs, moment))
    exclusions = [r.value for r in ExclusionReason]
    by_exclusion = pa.array(
        [notice_reason(ExclusionReason(r), account_deleted=False) for r in exclusions]
    )
    reasons = pc.take(
        by_exclusion, pc.index_in(judged["reason"], value_set=pa.array(exclusions, pa.string()))
    )
    deleted_account = pc.and_(pc.equal(judged["reason"], "deleted"), account_gone)
    reasons = pc.if_else(deleted_account, NoticeReason.ACCOUNT_DELETED.value, reasons)
    reasons = pc.fill_null(reasons, NoticeReason.POST_DELETED.value)  # no verdict: post gone
    judged = judged.append_column("notice_reason", reasons)
    return [
        (reason, judged.filter(pc.equal(judged["notice_reason"], reason)).select(held.column_names))
        for reason in sorted(pc.unique(reasons).to_pylist())
    ]


def _deleted_accounts(inputs: ConsentInputs, moment: datetime) -> pa.Array:
    accounts = inputs.accounts
    deleted = pc.fill_null(pc.less_equal(accounts["deleted_at"], pa.scalar(moment)), False)
    return accounts.filter(deleted)["id"].combine_chunks()
