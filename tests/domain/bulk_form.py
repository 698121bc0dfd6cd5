"""Drive the bulk form of the consent rule from the same facts the one-at-a-time form reads.

The tests build facts once, then ask both forms; these helpers turn facts into the Arrow tables
``consent_bulk`` expects and its rows back into ``Verdict`` values, so the two compare with ``==``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache

import duckdb
import pyarrow as pa

from consentry.domain import consent_bulk, consent_snapshot
from consentry.domain.types import (
    AccountFacts,
    CollaboratorFacts,
    ConsentBasis,
    ConsentEventFacts,
    DefaultRule,
    ExclusionReason,
    LicenseFacts,
    PolicyFacts,
    PostFacts,
    Verdict,
)

_ORDINALS: dict[str, int] = {}


def ordinal(account_id: str) -> int:
    """The account's ordinal (``store.models.Account.ordinal``): a number of its own, the same
    for the whole run, in the order the ids are first seen, so that it is unrelated to the
    account's position in any one table."""
    return _ORDINALS.setdefault(account_id, len(_ORDINALS) + 1)


def account_table(accounts: Sequence[AccountFacts]) -> pa.Table:
    rows = [
        {
            "id": a.id,
            "ordinal": ordinal(a.id),
            "jurisdiction": a.jurisdiction,
            "protected": a.protected,
            "birth_date": a.birth_date,
            "is_minor": a.is_minor,
            "deleted_at": a.deleted_at,
        }
        for a in accounts
    ]
    return pa.Table.from_pylist(rows, schema=consent_bulk.ACCOUNT_SCHEMA)


def event_table(events: Sequence[ConsentEventFacts]) -> pa.Table:
    rows = [
        {
            "id": e.id,
            "account_id": e.account_id,
            "account_ordinal": ordinal(e.account_id),
            "purpose": e.purpose,
            "collaborator_id": e.collaborator_id,
            "decision": e.decision.value,
            "effective_at": e.effective_at,
            "recorded_at": e.recorded_at,
            "source": e.source.value,
        }
        for e in events
    ]
    return pa.Table.from_pylist(rows, schema=consent_bulk.EVENT_SCHEMA)


def post_table(posts: Sequence[PostFacts]) -> pa.Table:
    rows = [
        {
            "id": p.id,
            "account_id": p.account_id,
            "created_at": p.created_at,
            "visibility": p.visibility.value,
            "lang": p.lang,
            "reply_to": p.reply_to,
            "deleted_at": p.deleted_at,
            "kind": p.kind.value,
            "original_id": p.original_id,
        }
        for p in posts
    ]
    return pa.Table.from_pylist(rows, schema=consent_bulk.POST_SCHEMA)


@cache
def _connection() -> duckdb.DuckDBPyConnection:
    """One connection for the whole run: opening one costs more than these tiny queries."""
    return consent_bulk.connect(threads=1)


def evaluate_in_bulk(
    posts: Sequence[PostFacts],
    accounts: Sequence[AccountFacts],
    events: Sequence[ConsentEventFacts],
    policies: Sequence[PolicyFacts],
    license: LicenseFacts,
    *,
    collaborator: CollaboratorFacts,
    cutoff: datetime,
    as_of: datetime,
) -> tuple[pa.Table, dict[str, Verdict]]:
    """The ``account_snapshot`` and, by post id, the verdicts of ``post_verdicts``."""
    con = _connection()
    snapshot = consent_snapshot.account_snapshot(
        account_table(accounts),
        event_table(events),
        policies,
        purpose=license.purpose,
        collaborator_id=license.collaborator_id,
        listed_at=collaborator.listed_at,
        cutoff=cutoff,
        as_of=as_of,
    )
    rows = consent_bulk.post_verdicts(
        post_table(posts), snapshot, license, cutoff=cutoff, as_of=as_of, con=con
    ).to_pylist()
    return snapshot, {row["post_id"]: verdict_of(row) for row in rows}


def verdict_of(row: dict) -> Verdict:
    reason = ExclusionReason(row["reason"]) if row["reason"] is not None else None
    default = DefaultRule(row["basis_default"]) if row["basis_default"] is not None else None
    basis = ConsentBasis(
        event_id=row["basis_event_id"],
        policy_version=row["basis_policy_version"],
        default=default,
    )
    return Verdict(reason is None, reason, basis)
