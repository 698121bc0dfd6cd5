""" "May post P be shared with collaborator C for purpose U now?" — one at a time and in bulk.

The single check applies ``domain.consent.evaluate`` (the reference rule); the bulk check runs
``domain.consent_bulk`` over Arrow tables in DuckDB, one plan per (collaborator, purpose), so a
request of thousands of items costs a few queries, not a loop over items. A question is asked
of every active license of the collaborator for the purpose; sharing is allowed when one of
them allows it. Besides the rule's reasons, a question can get two of its own:
``no_license`` (the collaborator has no active license for the purpose) and, in bulk,
``unknown_post`` (the platform never sent that post).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from consentry.domain import consent, consent_bulk
from consentry.domain.types import ConsentBasis, Verdict
from consentry.errors import NotFound
from consentry.store.snapshot import (
    Reference,
    ReferenceCache,
    consent_inputs,
    post_inputs,
    posts_by_id,
)

NO_LICENSE = "no_license"
UNKNOWN_POST = "unknown_post"


@dataclass(frozen=True)
class Answer:
    post_id: str
    collaborator_id: str
    purpose: str
    allowed: bool
    reason: str | None
    license_id: str | None
    basis: ConsentBasis


def may_share(
    conn: Connection,
    references: ReferenceCache,
    *,
    post_id: str,
    collaborator_id: str,
    purpose: str,
    now: datetime,
) -> Answer:
    """One question, answered with the reference rule at cut-off = as-of = ``now``.

    The post, its author, the author's events and the reference marker come in one statement
    (``store.snapshot.post_inputs``); the reference itself from the process's cache."""
    inputs = post_inputs(conn, post_id=post_id, purpose=purpose)
    if inputs is None:
        references.get(conn).check(collaborator_id=collaborator_id, purpose=purpose)
        raise NotFound("post", post_id, listing="PUT /api/platform/posts/{id} sends one")
    reference = references.get(conn, inputs.reference_marker)
    reference.check(collaborator_id=collaborator_id, purpose=purpose)
    licenses = reference.licenses_for(collaborator_id, purpose, now)
    if not licenses:
        return Answer(post_id, collaborator_id, purpose, False, NO_LICENSE, None, ConsentBasis())
    collaborator = reference.collaborator(collaborator_id)
    verdicts: list[tuple[str, Verdict]] = [
        (
            lic.id,
            consent.evaluate(
                inputs.post,
                inputs.account,
                inputs.events,
                reference.policies,
                lic,
                collaborator=collaborator,
                cutoff=now,
                as_of=now,
            ),
        )
        for lic in licenses
    ]
    license_id, verdict = next(((i, v) for i, v in verdicts if v.allowed), verdicts[0])
    reason = verdict.reason.value if verdict.reason else None
    return Answer(
        post_id, collaborator_id, purpose, verdict.allowed, reason, license_id, verdict.basis
    )


def may_share_bulk(
    conn: Connection,
    reference: Reference,
    *,
    post_ids: Sequence[str],
    collaborator_id: str,
    purpose: str,
    now: datetime,
) -> pa.Table:
    """Many posts for one collaborator and purpose; one row per post id asked, in order.

    Columns: post_id, allowed, reason, license_id, basis_event_id, basis_policy_version,
    basis_default.
    """
    reference.check(collaborator_id=collaborator_id, purpose=purpose)
    questions = pa.table(
        {
            "i": pa.array(range(len(post_ids)), pa.int64()),
            "post_id": pa.array(post_ids, pa.string()),
        }
    )
    posts = posts_by_id(conn, pc.unique(questions["post_id"]))
    con = consent_bulk.thread_connection()
    licenses = reference.licenses_for(collaborator_id, purpose, now)
    verdicts = VERDICT_SCHEMA.empty_table()
    if licenses:
        inputs = consent_inputs(
            conn,
            purpose=purpose,
            account_ids=pc.unique(posts["account_id"]).to_pylist(),
            reference=reference,
        )
        snapshot = inputs.snapshot(
            purpose=purpose, collaborator_id=collaborator_id, cutoff=now, as_of=now
        )
        verdicts = pa.concat_tables(
            _ranked(
                consent_bulk.post_verdicts(posts, snapshot, lic, cutoff=now, as_of=now, con=con),
                lic.id,
                rank,
            )
            for rank, lic in enumerate(licenses)
        )
    return _answers(con, questions, posts, verdicts)


def _ranked(table: pa.Table, license_id: str, rank: int) -> pa.Table:
    n = table.num_rows
    table = table.append_column("license_id", pa.repeat(license_id, n).cast(pa.string()))
    return table.append_column("license_rank", pa.repeat(rank, n).cast(pa.int64())).cast(
        VERDICT_SCHEMA
    )


VERDICT_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("account_id", pa.string()),
        ("reason", pa.string()),
        ("basis_event_id", pa.int64()),
        ("basis_policy_version", pa.string()),
        ("basis_default", pa.string()),
        ("license_id", pa.string()),
        ("license_rank", pa.int64()),
    ]
)

ANSWER_SQL = f"""
WITH best AS (
  SELECT post_id,
         arg_min(struct_pack(reason, license_id, basis_event_id, basis_policy_version,
                             basis_default),
                 struct_pack(denied := reason IS NOT NULL, license_rank)) AS v
  FROM verdicts GROUP BY post_id
)
SELECT q.post_id,
       (p.id IS NOT NULL AND b.post_id IS NOT NULL AND b.v.reason IS NULL) AS allowed,
       CASE WHEN p.id IS NULL THEN '{UNKNOWN_POST}'
            WHEN b.post_id IS NULL THEN '{NO_LICENSE}'
            ELSE b.v.reason END AS reason,
       b.v.license_id AS license_id,
       b.v.basis_event_id AS basis_event_id,
       b.v.basis_policy_version AS basis_policy_version,
       b.v.basis_default AS basis_default
FROM questions q
LEFT JOIN known p ON p.id = q.post_id
LEFT JOIN best b ON b.post_id = q.post_id
ORDER BY q.i
"""


def _answers(
    con: duckdb.DuckDBPyConnection, questions: pa.Table, posts: pa.Table, verdicts: pa.Table
) -> pa.Table:
    names = {"questions": questions, "known": posts.select(["id"]), "verdicts": verdicts}
    for name, table in names.items():
        con.register(name, table)
    try:
        return con.sql(ANSWER_SQL).to_arrow_table()
    finally:
        for name in names:
            con.unregister(name)
