"""The export's batch transform, engine-neutral: one Arrow batch of posts in, the delivered
records, their membership and a counts table out (Arrow only).

Consent verdicts, pseudonyms and timestamp coarsening are one relational plan, ``judge_sql``
(DuckDB over a relation ``posts`` and the account snapshot); redaction and mention replacement
are vectorized Arrow kernels (``finish``). ``BatchJudge`` runs both over one batch: that is what
Spark runs in ``mapInArrow``. The embedded engine runs the same ``judge_sql`` once over the whole
scan (the snapshot hashed once, not once per batch; unsorted, its delivered records sorted
afterwards) and ``finish`` on each batch it streams out; a judged row depends only on its post,
so both give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from consentry.domain import consent_bulk
from consentry.pipeline.context import COARSENING_UNITS, ExportContext
from consentry.pipeline.counts import QUOTED_PLACEHOLDER, batch_counts
from consentry.pipeline.pseudonymize import ACCOUNT_PREFIX, POST_PREFIX, hmac_parameters, hmac_sql
from consentry.pipeline.redact import redact, replace_mentions

# Post columns an export reads (consent_bulk.POST_SCHEMA plus what may be delivered).
SCAN_SCHEMA = pa.schema(
    [
        *consent_bulk.POST_SCHEMA,
        pa.field("text", pa.string(), nullable=False),
        pa.field("like_count", pa.int64(), nullable=False),
        pa.field("repost_count", pa.int64(), nullable=False),
        pa.field("reply_count", pa.int64(), nullable=False),
    ]
)


@dataclass(frozen=True)
class BatchOutput:
    """What an engine yields per batch: three Arrow tables, nothing else."""

    records: pa.Table
    """Delivered records in the context's schema, ordered by post id."""
    members: pa.Table
    """post_id, account_id, record_pseudonym and consent basis, row-aligned with ``records``."""
    counts: pa.Table
    """The batch's judged rows grouped by what the manifest counts (``counts.COUNTS_SCHEMA``)."""


def _pseudonym(column: str, prefix: str, ctx: ExportContext) -> str:
    if not ctx.pseudonymize:
        return column
    return hmac_sql(f"'{prefix}' || {column}")


SHARING_ACCOUNTS_SQL = """
SELECT s.*,
       CASE WHEN NOT (s.deleted OR s.minor OR s.protected)
                 AND s.reason_t IS NULL AND s.reason_now IS NULL
            THEN {pseudonym} END AS author_pseudonym,
       lower(a.handle) AS handle
FROM snapshot s JOIN accounts a ON a.id = s.account_id
"""


def with_author_pseudonyms(
    snapshot: pa.Table, accounts: pa.Table, *, key: bytes, pseudonymize: bool
) -> tuple[pa.Table, pa.Array, pa.Array]:
    """The snapshot with each sharing account's pseudonym (computed once per account, not per
    post), and the mention map: lower-cased handles of those accounts and their pseudonyms."""
    con = consent_bulk.connect()
    con.register("snapshot", snapshot)
    con.register("accounts", accounts.select(["id", "handle"]))
    pseudonym = hmac_sql(f"'{ACCOUNT_PREFIX}' || s.account_id") if pseudonymize else "s.account_id"
    table = con.sql(
        SHARING_ACCOUNTS_SQL.format(pseudonym=pseudonym),
        params=hmac_parameters(key) if pseudonymize else None,
    ).to_arrow_table()
    con.register("t", table)
    mentions = con.sql(
        "SELECT handle, author_pseudonym FROM t WHERE author_pseudonym IS NOT NULL ORDER BY handle"
    ).to_arrow_table()
    con.close()
    return (
        table.drop_columns(["handle"]),
        mentions.column("handle").combine_chunks(),
        mentions.column("author_pseudonym").combine_chunks(),
    )


def judge_sql(ctx: ExportContext, *, ordered: bool = True) -> str:
    """Verdicts, pseudonyms and coarsening for relation ``posts`` joined with ``snapshot``,
    sorted by post id (a join may emit rows in either side's order) unless not ``ordered``."""
    created = (
        f"date_trunc('{COARSENING_UNITS[ctx.coarsen]}', created_at)"
        if ctx.coarsen in COARSENING_UNITS
        else "created_at"
    )
    # A record a deletion notice took back is never delivered again to this collaborator; in a
    # delta, what was delivered before is not delivered twice. Both are skipped before judging.
    delivered_before = "false"
    joins = "LEFT JOIN withdrawn w ON w.post_id = posts.id"
    if ctx.already_delivered is not None:
        delivered_before = "d.post_id IS NOT NULL"
        joins += " LEFT JOIN already_delivered d ON d.post_id = posts.id"
    posts = (
        f"(SELECT posts.*, w.post_id IS NOT NULL AS withdrawn, "
        f"w.post_id IS NULL AND {delivered_before} AS previously_delivered FROM posts {joins})"
    )
    verdicts = consent_bulk.post_verdict_sql(
        ctx.license,
        posts=posts,
        extra_columns="jurisdiction, author_pseudonym, text, lang, created_at, reply_to, "
        "kind, original_id, like_count, repost_count, reply_count, previously_delivered, withdrawn",
    )
    quote = "reason IS NULL AND kind = 'quote'"
    quoted_id = _pseudonym("original_id", POST_PREFIX, ctx)
    return f"""
WITH v AS ({verdicts})
SELECT post_id, account_id, previously_delivered, withdrawn,
       CASE WHEN NOT (previously_delivered OR withdrawn) THEN reason END AS reason,
       coalesce(jurisdiction, '') AS jurisdiction,
       basis_event_id, basis_policy_version, basis_default,
       CASE WHEN reason IS NULL THEN {_pseudonym("post_id", POST_PREFIX, ctx)} END AS record_id,
       CASE WHEN reason IS NULL THEN author_pseudonym END AS author_id,
       {created} AS created_at, lang,
       kind,
       CASE WHEN reason IS NULL THEN {_pseudonym("reply_to", POST_PREFIX, ctx)} END
         AS reply_to_id,
       CASE WHEN reason IS NULL THEN text END AS text,
       CASE WHEN {quote} AND q.quoted_post_id IS NOT NULL THEN {quoted_id} END AS quoted_id,
       CASE WHEN {quote} THEN coalesce(q.quoted_post_text, '{QUOTED_PLACEHOLDER}') END
         AS quoted_text,
       like_count, repost_count, reply_count
FROM v LEFT JOIN quoted q ON q.quoted_post_id = v.original_id
""" + ("ORDER BY post_id\n" if ordered else "")


def judge_parameters(ctx: ExportContext) -> dict[str, object]:
    return {
        **consent_bulk.verdict_parameters(ctx.license, cutoff=ctx.cutoff, as_of=ctx.as_of),
        **(hmac_parameters(ctx.pseudonym_key) if ctx.pseudonymize else {}),
    }


def register_context(con: duckdb.DuckDBPyConnection, ctx: ExportContext) -> None:
    con.register("snapshot", ctx.snapshot)
    con.register("quoted", ctx.quoted)
    con.register("withdrawn", ctx.withdrawn)
    if ctx.already_delivered is not None:
        con.register("already_delivered", ctx.already_delivered)


class BatchJudge:
    """The per-batch work of every engine: one DuckDB connection with the export's context
    registered once, then, per batch of id-ordered posts, ``judge_sql`` and ``finish``.

    The embedded engine keeps one per thread; the Spark engine one per Python worker."""

    def __init__(self, ctx: ExportContext) -> None:
        self.ctx = ctx
        self.con: duckdb.DuckDBPyConnection = consent_bulk.connect(threads=1)
        register_context(self.con, ctx)
        self.sql = judge_sql(ctx)
        self.params = judge_parameters(ctx)

    def __call__(self, batch: pa.RecordBatch, snapshot: pa.Table | None = None) -> BatchOutput:
        """``snapshot``: the snapshot rows of this batch's authors, for an engine that joined
        them onto the posts instead of shipping the whole snapshot (the context's is used
        otherwise); the verdicts are the same, since a post only looks up its author."""
        self.con.register("posts", batch)
        if snapshot is not None:
            self.con.register("snapshot", snapshot)
        try:
            judged = self.con.sql(self.sql, params=self.params).to_arrow_table()
        finally:
            self.con.unregister("posts")
        return finish(judged, self.ctx)


def finish(judged: pa.Table | pa.RecordBatch, ctx: ExportContext) -> BatchOutput:
    """Count, then redact and shape the delivered rows of a judged batch (Arrow kernels)."""
    judged = pa.Table.from_batches([judged]) if isinstance(judged, pa.RecordBatch) else judged
    counts = batch_counts(judged)
    skipped = pc.or_(judged.column("previously_delivered"), judged.column("withdrawn"))
    delivered = judged.filter(pc.and_(pc.invert(skipped), pc.is_null(judged.column("reason"))))
    members = pa.table(
        {
            "post_id": delivered.column("post_id"),
            "account_id": delivered.column("account_id"),
            "record_pseudonym": delivered.column("record_id"),
            "basis_event_id": delivered.column("basis_event_id"),
            "basis_policy_version": delivered.column("basis_policy_version"),
            "basis_default": delivered.column("basis_default"),
        }
    )
    return BatchOutput(records=_records(delivered, ctx), members=members, counts=counts)


def _records(delivered: pa.Table, ctx: ExportContext) -> pa.Table:
    columns = {}
    for name in ctx.schema.names:
        column = delivered.column(name)
        if name in ("text", "quoted_text") and ctx.redact:
            column = replace_mentions(redact(column, ctx.redaction_lists), ctx.mentions)
        columns[name] = column
    return pa.table(columns).cast(ctx.schema)
