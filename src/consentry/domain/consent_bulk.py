"""The consent rule in bulk for posts: every post at one cut-off, as one relational plan.

Inputs and outputs are Arrow tables; the plan runs in an in-memory DuckDB connection (a
computation, not I/O) and joins the posts with the accounts' snapshot (``consent_snapshot``).
Only the row-wise part of the rule is restated here, and a property test holds it to
``consent.evaluate``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from consentry.domain.types import LICENSABLE_KINDS, REASON_ORDER, LicenseFacts

TS = pa.timestamp("us", tz="UTC")

ACCOUNT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("ordinal", pa.int64(), nullable=False),
        pa.field("jurisdiction", pa.string(), nullable=False),
        pa.field("protected", pa.bool_(), nullable=False),
        ("birth_date", pa.date32()),
        ("is_minor", pa.bool_()),
        ("deleted_at", TS),
    ]
)
EVENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("account_ordinal", pa.int64(), nullable=False),
        pa.field("purpose", pa.string(), nullable=False),
        ("collaborator_id", pa.string()),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("effective_at", TS, nullable=False),
        pa.field("recorded_at", TS, nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)
"""The ledger in ledger order (ascending id): the order the platform sent the events."""
POST_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("created_at", TS, nullable=False),
        pa.field("visibility", pa.string(), nullable=False),
        ("lang", pa.string()),
        ("reply_to", pa.string()),
        ("deleted_at", TS),
        pa.field("kind", pa.string(), nullable=False),
        ("original_id", pa.string()),
    ]
)
_REASON_RANK = " ".join(f"WHEN '{r.value}' THEN {i}" for i, r in enumerate(REASON_ORDER))


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


_local = threading.local()


def thread_connection() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB connection per thread, kept: opening one costs more (tens of ms)
    than judging a request's or a propagation pass's few thousand rows."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = _local.con = connect(threads=1)
    return con


def scope_predicate(license: LicenseFacts) -> str:
    """SQL for ``consent.in_scope`` over relation ``p``; values are bound as parameters."""
    scope = license.scope
    terms = ["p.created_at <= $cutoff"]
    kinds = sorted(k.value for k in scope.kinds & LICENSABLE_KINDS)
    terms.append(f"p.kind IN ({', '.join(repr(k) for k in kinds)})" if kinds else "false")
    if scope.created_from is not None:
        terms.append("p.created_at >= $created_from")
    if scope.created_until is not None:
        terms.append("p.created_at < $created_until")
    if scope.languages is not None:
        terms.append("coalesce(list_contains($languages, p.lang), false)")
    if scope.public_only:
        terms.append("p.visibility = 'public'")
    return " AND ".join(terms)


def scope_parameters(license: LicenseFacts) -> dict[str, object]:
    scope = license.scope
    params: dict[str, object] = {}
    if scope.created_from is not None:
        params["created_from"] = as_utc(scope.created_from)
    if scope.created_until is not None:
        params["created_until"] = as_utc(scope.created_until)
    if scope.languages is not None:
        params["languages"] = sorted(scope.languages)
    return params


def _consent_reason(suffix: str) -> str:
    return f"""coalesce(s.reason_{suffix},
        CASE WHEN s.opt_out_since_{suffix} IS NOT NULL AND p.created_at < s.opt_out_since_{suffix}
                  AND NOT $include_pre_policy THEN 'before_policy' END)"""


def post_verdict_sql(
    license: LicenseFacts, *, posts: str = "posts", extra_columns: str = ""
) -> str:
    """A query giving each post of relation ``posts`` its verdict, joined with ``snapshot``.

    Columns: post_id, account_id, reason (NULL when delivered) and the consent basis
    (basis_event_id, basis_policy_version, basis_default), plus ``extra_columns`` of ``p``.
    """
    extra = f", {extra_columns}" if extra_columns else ""
    return f"""
WITH judged AS (
  SELECT p.*, s.* EXCLUDE (account_id), s.account_id IS NOT NULL AS has_account,
    CASE
      WHEN p.visibility = 'direct' THEN 'direct_message'
      WHEN (p.deleted_at IS NOT NULL AND p.deleted_at <= $as_of)
           OR s.account_id IS NULL OR s.deleted THEN 'deleted'
      WHEN s.minor THEN 'minor'
      WHEN s.protected THEN 'protected'
      WHEN NOT ({scope_predicate(license)}) THEN 'out_of_scope'
    END AS record_reason,
    {_consent_reason("t")} AS consent_reason_t,
    {_consent_reason("now")} AS consent_reason_now
  FROM {posts} p LEFT JOIN snapshot s ON s.account_id = p.account_id
), ranked AS (
  SELECT *,
    CASE consent_reason_t {_REASON_RANK} ELSE 99 END AS rank_t,
    CASE consent_reason_now {_REASON_RANK} ELSE 99 END AS rank_now
  FROM judged
)
SELECT id AS post_id, account_id,
  coalesce(record_reason,
           CASE WHEN rank_t <= rank_now THEN consent_reason_t ELSE consent_reason_now END)
    AS reason,
  CASE WHEN record_reason IS NOT NULL THEN NULL
       WHEN rank_t <= rank_now THEN event_t ELSE event_now END AS basis_event_id,
  CASE WHEN record_reason IS NOT NULL THEN NULL
       WHEN rank_t <= rank_now THEN version_t ELSE version_now END AS basis_policy_version,
  CASE WHEN record_reason IS NOT NULL THEN NULL
       WHEN rank_t <= rank_now THEN default_t ELSE default_now END AS basis_default
  {extra}
FROM ranked
"""


def verdict_parameters(license: LicenseFacts, *, cutoff: datetime, as_of: datetime) -> dict:
    return {
        "cutoff": as_utc(cutoff),
        "as_of": as_utc(as_of),
        "include_pre_policy": license.scope.include_pre_policy_posts,
        **scope_parameters(license),
    }


def post_verdicts(
    posts: pa.Table,
    snapshot: pa.Table,
    license: LicenseFacts,
    *,
    cutoff: datetime,
    as_of: datetime,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """The verdict for every post of ``posts`` (POST_SCHEMA) given an ``account_snapshot``."""
    con = con or connect()
    con.register("posts", posts)
    con.register("snapshot", snapshot)
    try:
        return con.sql(
            post_verdict_sql(license) + " ORDER BY post_id",
            params=verdict_parameters(license, cutoff=cutoff, as_of=as_of),
        ).to_arrow_table()
    finally:
        con.unregister("posts")
        con.unregister("snapshot")


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


MASTER_SWITCH_ONLY = "\x00all"
"""A collaborator id that matches no per-collaborator event: the snapshot of the master switch."""

SUMMARY_SQL = """
SELECT jurisdiction,
       count(*) AS accounts,
       count(*) FILTER (WHERE deleted OR minor OR protected) AS never_shared,
       count(*) FILTER (WHERE NOT (deleted OR minor OR protected)
                        AND reason_t IS NULL AND event_t IS NOT NULL) AS allowed_explicit,
       count(*) FILTER (WHERE NOT (deleted OR minor OR protected)
                        AND reason_t IS NULL AND event_t IS NULL) AS allowed_by_default,
       count(*) FILTER (WHERE NOT (deleted OR minor OR protected)
                        AND reason_t = 'denied') AS denied,
       count(*) FILTER (WHERE NOT (deleted OR minor OR protected)
                        AND reason_t = 'no_consent') AS no_consent,
       count(*) FILTER (WHERE NOT (deleted OR minor OR protected)
                        AND reason_t = 'no_policy') AS no_policy
FROM snapshot GROUP BY jurisdiction ORDER BY jurisdiction
"""


def summarize(snapshot: pa.Table, con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """Accounts per jurisdiction by consent state at the snapshot's cut-off."""
    con = con or connect()
    con.register("snapshot", snapshot)
    try:
        return con.sql(SUMMARY_SQL).to_arrow_table()
    finally:
        con.unregister("snapshot")
