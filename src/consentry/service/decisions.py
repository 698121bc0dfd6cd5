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

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, bindparam, select, text

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

POST_COLUMNS = (Post.id, Post.account_id, Post.created_at, Post.visibility, Post.lang)
POST_COLUMNS += (Post.reply_to, Post.deleted_at)
ACCOUNT_COLUMNS = (Account.jurisdiction, Account.protected, Account.birth_date)
ACCOUNT_COLUMNS += (Account.is_minor, Account.deleted_at)
EVENT_COLUMNS = (ConsentEvent.id, ConsentEvent.collaborator_id, ConsentEvent.decision)
EVENT_COLUMNS += (ConsentEvent.effective_at, ConsentEvent.recorded_at)

# Built once (constructing a statement costs more than running it on an indexed key), and one
# round trip: the post, its account and the account's events for the purpose, one row each.
POST_ACCOUNT_EVENTS = (
    select(*POST_COLUMNS, *ACCOUNT_COLUMNS, *EVENT_COLUMNS)
    .join(Account, Account.id == Post.account_id)
    .outerjoin(
        ConsentEvent,
        (ConsentEvent.account_id == Post.account_id)
        & (ConsentEvent.purpose == bindparam("purpose")),
    )
    .where(Post.id == bindparam("post_id"))
)


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
    reference: Reference,
    *,
    post_id: str,
    collaborator_id: str,
    purpose: str,
    now: datetime,
) -> Answer:
    """One question, answered with the reference rule at cut-off = as-of = ``now``."""
    reference.check(collaborator_id=collaborator_id, purpose=purpose)
    rows = conn.execute(POST_ACCOUNT_EVENTS, {"post_id": post_id, "purpose": purpose}).all()
    if not rows:
        raise NotFound("post", post_id, listing="PUT /api/platform/posts/{id} sends one")
    row = rows[0]
    post = PostFacts(row[0], row[1], row[2], Visibility(row[3]), row[4], row[5], row[6])
    account = AccountFacts(row[1], *row[7:12])
    events = [
        ConsentEventFacts(e[12], account.id, purpose, e[13], Decision(e[14]), e[15], e[16])
        for e in rows
        if e[12] is not None
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
    sql = _READS[conn.dialect.name]
    posts = _read(conn, sql["posts"], pc.unique(questions["post_id"]), consent_bulk.POST_SCHEMA)
    con = _duckdb()
    licenses = reference.licenses_for(collaborator_id, purpose, now)
    verdicts = VERDICT_SCHEMA.empty_table()
    if licenses:
        account_ids = pc.unique(posts["account_id"])
        accounts = _read(conn, sql["accounts"], account_ids, consent_bulk.ACCOUNT_SCHEMA)
        events = _read(conn, sql["events"], account_ids, consent_bulk.EVENT_SCHEMA, purpose=purpose)
        snapshot = consent_bulk.account_snapshot(
            accounts,
            events,
            reference.policies,
            purpose=purpose,
            collaborator_id=collaborator_id,
            cutoff=now,
            as_of=now,
            con=con,
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


def _in(dialect: str) -> str:
    # One text parameter for the whole id list, a JSON array: binding thousands of separate
    # parameters (or a driver-side array) costs more than the query.
    if dialect == "sqlite":
        return "IN (SELECT value FROM json_each(:ids))"
    return "IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)))"


_READS = {
    dialect: {
        "posts": "SELECT id, account_id, created_at, visibility, lang, reply_to, deleted_at "
        f"FROM posts WHERE id {_in(dialect)}",
        "accounts": "SELECT id, jurisdiction, protected, birth_date, is_minor, deleted_at "
        f"FROM accounts WHERE id {_in(dialect)}",
        "events": "SELECT id, account_id, purpose, collaborator_id, decision, effective_at, "
        f"recorded_at FROM consent_events WHERE account_id {_in(dialect)} "
        "AND purpose = :purpose",
    }
    for dialect in ("sqlite", "postgresql")
}


def _read(conn: Connection, sql: str, ids: pa.Array, schema: pa.Schema, **params: str) -> pa.Table:
    """Rows whose key is among ``ids``, as ``schema``; values are converted column-wise."""
    rows = conn.execute(text(sql), {"ids": json.dumps(ids.to_pylist()), **params}).all()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table(
        [_column(values, f.type) for values, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _column(values: Sequence, dtype: pa.DataType) -> pa.Array:
    """SQLite hands back times and dates as text and booleans as 0/1; cast them in Arrow."""
    if not (pa.types.is_timestamp(dtype) or pa.types.is_date(dtype) or pa.types.is_boolean(dtype)):
        return pa.array(values, dtype)
    array = pa.array(values)
    if pa.types.is_string(array.type) and pa.types.is_timestamp(dtype):
        array = array.cast(pa.timestamp(dtype.unit))  # stored as UTC without a zone
    return array.cast(dtype)


_local = threading.local()


def _duckdb() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB connection per server thread (a computation, not storage)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = consent_bulk.connect(threads=1)
    return con
