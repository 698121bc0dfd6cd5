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

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.domain import consent, consent_bulk
from consentry.domain.types import (
    AccountFacts,
    ConsentBasis,
    ConsentEventFacts,
    Decision,
    PostFacts,
    Verdict,
    Visibility,
)
from consentry.errors import NotFound
from consentry.service.reference import Reference
from consentry.store.models import Account, ConsentEvent, Post

NO_LICENSE = "no_license"
UNKNOWN_POST = "unknown_post"
CHUNK = 10_000

POST_COLUMNS = (Post.id, Post.account_id, Post.created_at, Post.visibility, Post.lang)
POST_COLUMNS += (Post.reply_to, Post.deleted_at)
ACCOUNT_COLUMNS = (Account.id, Account.jurisdiction, Account.protected, Account.birth_date)
ACCOUNT_COLUMNS += (Account.is_minor, Account.deleted_at)
EVENT_COLUMNS = (ConsentEvent.id, ConsentEvent.account_id, ConsentEvent.purpose)
EVENT_COLUMNS += (ConsentEvent.collaborator_id, ConsentEvent.decision)
EVENT_COLUMNS += (ConsentEvent.effective_at, ConsentEvent.recorded_at)


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
    session: Session,
    reference: Reference,
    *,
    post_id: str,
    collaborator_id: str,
    purpose: str,
    now: datetime,
) -> Answer:
    """One question, answered with the reference rule at cut-off = as-of = ``now``."""
    reference.check(collaborator_id=collaborator_id, purpose=purpose)
    row = session.execute(
        select(*POST_COLUMNS, *ACCOUNT_COLUMNS[1:])
        .join(Account, Account.id == Post.account_id)
        .where(Post.id == post_id)
    ).first()
    if row is None:
        raise NotFound("post", post_id, listing="PUT /api/platform/posts/{id} sends one")
    post = PostFacts(row[0], row[1], row[2], Visibility(row[3]), row[4], row[5], row[6])
    account = AccountFacts(row[1], *row[7:])
    events = [
        ConsentEventFacts(e[0], e[1], e[2], e[3], Decision(e[4]), e[5], e[6])
        for e in session.execute(
            select(*EVENT_COLUMNS).where(
                ConsentEvent.account_id == account.id, ConsentEvent.purpose == purpose
            )
        )
    ]
    licenses = reference.licenses_for(collaborator_id, purpose, now)
    verdicts: list[tuple[str, Verdict]] = [
        (
            lic.id,
            consent.evaluate(post, account, events, reference.policies, lic, cutoff=now, as_of=now),
        )
        for lic in licenses
    ]
    if not verdicts:
        return Answer(post_id, collaborator_id, purpose, False, NO_LICENSE, None, ConsentBasis())
    license_id, verdict = next(((i, v) for i, v in verdicts if v.allowed), verdicts[0])
    reason = verdict.reason.value if verdict.reason else None
    return Answer(
        post_id, collaborator_id, purpose, verdict.allowed, reason, license_id, verdict.basis
    )


def may_share_bulk(
    session: Session,
    reference: Reference,
    *,
    post_ids: Sequence[str],
    collaborator_ids: Sequence[str],
    purposes: Sequence[str],
    now: datetime,
) -> pa.Table:
    """Many questions at once; one row per question, in order.

    Columns: post_id, collaborator_id, purpose, allowed, reason, license_id, basis_event_id,
    basis_policy_version, basis_default.
    """
    questions = pa.table(
        {
            "i": pa.array(range(len(post_ids)), pa.int64()),
            "post_id": pa.array(post_ids, pa.string()),
            "collaborator_id": pa.array(collaborator_ids, pa.string()),
            "purpose": pa.array(purposes, pa.string()),
        }
    )
    pairs = questions.group_by(["collaborator_id", "purpose"]).aggregate([("i", "min")])
    for pair in pairs.to_pylist():
        reference.check(
            collaborator_id=pair["collaborator_id"],
            purpose=pair["purpose"],
            field_prefix=f"items[{pair['i_min']}].",
        )
    posts = _fetch(session, POST_COLUMNS, Post.id, pc.unique(questions["post_id"]).to_pylist())
    posts = _arrow(posts, consent_bulk.POST_SCHEMA)
    account_ids = pc.unique(posts["account_id"]).to_pylist()
    accounts = _arrow(
        _fetch(session, ACCOUNT_COLUMNS, Account.id, account_ids), consent_bulk.ACCOUNT_SCHEMA
    )
    wanted = sorted({p["purpose"] for p in pairs.to_pylist()})
    events = _arrow(
        _fetch(
            session,
            EVENT_COLUMNS,
            ConsentEvent.account_id,
            account_ids,
            ConsentEvent.purpose.in_(wanted),
        ),
        consent_bulk.EVENT_SCHEMA,
    )
    con = _duckdb()
    verdicts = [
        _verdicts_for(con, reference, posts, accounts, events, pair, now)
        for pair in pairs.to_pylist()
    ]
    return _answers(con, questions, posts, [v for v in verdicts if v is not None])


def _verdicts_for(
    con: duckdb.DuckDBPyConnection,
    reference: Reference,
    posts: pa.Table,
    accounts: pa.Table,
    events: pa.Table,
    pair: dict,
    now: datetime,
) -> pa.Table | None:
    collaborator_id, purpose = pair["collaborator_id"], pair["purpose"]
    licenses = reference.licenses_for(collaborator_id, purpose, now)
    if not licenses:
        return None
    snapshot = consent_bulk.account_snapshot(
        accounts,
        events.filter(pc.equal(events["purpose"], purpose)),
        reference.policies,
        purpose=purpose,
        collaborator_id=collaborator_id,
        cutoff=now,
        as_of=now,
        con=con,
    )
    tables = []
    for rank, lic in enumerate(licenses):
        table = consent_bulk.post_verdicts(posts, snapshot, lic, cutoff=now, as_of=now, con=con)
        n = table.num_rows
        tables.append(
            table.append_column("collaborator_id", pa.repeat(collaborator_id, n).cast(pa.string()))
            .append_column("purpose", pa.repeat(purpose, n).cast(pa.string()))
            .append_column("license_id", pa.repeat(lic.id, n).cast(pa.string()))
            .append_column("license_rank", pa.repeat(rank, n).cast(pa.int64()))
        )
    return pa.concat_tables(tables)


ANSWER_SQL = f"""
WITH best AS (
  SELECT post_id, collaborator_id, purpose,
         arg_min(struct_pack(reason, license_id, basis_event_id, basis_policy_version,
                             basis_default),
                 struct_pack(denied := reason IS NOT NULL, license_rank)) AS v
  FROM verdicts GROUP BY post_id, collaborator_id, purpose
)
SELECT q.post_id, q.collaborator_id, q.purpose,
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
LEFT JOIN best b ON b.post_id = q.post_id AND b.collaborator_id = q.collaborator_id
                AND b.purpose = q.purpose
ORDER BY q.i
"""

VERDICT_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("account_id", pa.string()),
        ("reason", pa.string()),
        ("basis_event_id", pa.int64()),
        ("basis_policy_version", pa.string()),
        ("basis_default", pa.string()),
        ("collaborator_id", pa.string()),
        ("purpose", pa.string()),
        ("license_id", pa.string()),
        ("license_rank", pa.int64()),
    ]
)


def _answers(
    con: duckdb.DuckDBPyConnection, questions: pa.Table, posts: pa.Table, verdicts: list[pa.Table]
) -> pa.Table:
    verdict_table = (
        pa.concat_tables([v.cast(VERDICT_SCHEMA) for v in verdicts])
        if verdicts
        else VERDICT_SCHEMA.empty_table()
    )
    names = {"questions": questions, "known": posts.select(["id"]), "verdicts": verdict_table}
    for name, table in names.items():
        con.register(name, table)
    try:
        return con.sql(ANSWER_SQL).to_arrow_table()
    finally:
        for name in names:
            con.unregister(name)


def _fetch(session: Session, columns: tuple, key, values: list[str], *extra) -> list[tuple]:
    """Rows whose ``key`` is among ``values``, in chunks the databases' parameter limits allow."""
    rows: list[tuple] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        rows.extend(session.execute(select(*columns).where(key.in_(chunk), *extra)).all())
    return rows


def _arrow(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    return pa.table(
        [pa.array(column, f.type) for column, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


_local = threading.local()


def _duckdb() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB connection per server thread (a computation, not storage)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = consent_bulk.connect(threads=1)
    return con
