"""The embedded engine: the whole scan judged by one streaming DuckDB query, each batch it
streams out finished (redaction and shaping in Arrow kernels) on a pool of threads, and only the
delivered records sorted by post id at the end.

The query is ``transform.judge_sql`` over the source's posts relation, as the per-batch function
runs it over one batch, so the judged rows are the same; it hashes the snapshot once, not once
per batch. It is not sorted: sorting every judged row (most of them excluded) cost half of the
query. Each batch is counted and finished as it comes, and its delivered records, with their
members, are appended to a Parquet file in a temporary directory; once the scan is done DuckDB
reads that file back ``ORDER BY post_id``, so the records come out in post-id order whatever the
source's order and the batch sizes: shards are deterministic and a resumed run skips exactly the
rows of the shards already done. DuckDB's sort spills to the same directory beyond
``memory_limit``, and a bounded window of batches in flight keeps the rest of memory
proportional to the batch size, not to the input.

A post id seen twice is refused: among delivered records on the sorted stream, and for every
judged row by a 64-bit hash of each id, sorted once at the end (a repeated hash is looked up
again in the source, so a collision is not taken for a repeat).
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from consentry.domain import consent_bulk
from consentry.errors import InvalidInput
from consentry.pipeline.context import ExportContext
from consentry.pipeline.counts import COUNTS_SCHEMA
from consentry.pipeline.plan import ExportPlan
from consentry.pipeline.sources import Source, arrow_stream, check_ids_ascending, refused
from consentry.pipeline.transform import (
    BatchOutput,
    finish,
    judge_parameters,
    judge_sql,
    register_context,
)
from consentry.store import deliveries

NAME = "embedded"
STREAM_ROWS = 65_536
MEMORY_LIMIT = "384MB"
"""DuckDB's own share (hash tables, the sort of the delivered records, which spills past it)."""
MEMBER_PREFIX = "member_"
"""The members' columns in the table of delivered records (a record's own names are taken)."""


@dataclass(frozen=True)
class EmbeddedEngine:
    """The default engine: one machine, ``threads`` workers (default: up to 4 cores)."""

    threads: int | None = None
    memory_limit: str = MEMORY_LIMIT
    name: str = NAME

    def execute(self, plan: ExportPlan) -> Iterator[BatchOutput]:
        return run(plan.source, plan.context, threads=self.threads, memory_limit=self.memory_limit)


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def judged_stream(
    source: Source, con: duckdb.DuckDBPyConnection, ctx: ExportContext
) -> Generator[pa.RecordBatch]:
    """The judged rows of the whole scan (``judge_sql``), in no particular order, batch by
    batch, each row with ``post_hash``, a 64-bit hash of its id."""
    register_context(con, ctx)
    source.register(con, "posts")
    sql = (
        f"SELECT * REPLACE ({NARROWED}), hash(post_id) AS post_hash "
        f"FROM ({judge_sql(ctx, ordered=False)})"
    )
    try:
        for batch in arrow_stream(con.sql(sql, params=judge_parameters(ctx)), STREAM_ROWS):
            if batch.num_rows:
                yield batch
    except duckdb.Error as exc:
        raise refused(exc, source.where) from exc


_DELIVERED = "reason IS NULL AND NOT (previously_delivered OR withdrawn)"
NARROWED = ", ".join(
    f"CASE WHEN {_DELIVERED} THEN {column} END AS {column}"
    for column in ("post_id", "account_id", "lang", "basis_policy_version", "basis_default")
)
"""The string columns only a delivered record uses, null in the other judged rows (about six in
seven): counting needs none of them, and each would be copied out of DuckDB for every row."""


@dataclass(frozen=True)
class _Finished:
    output: BatchOutput
    hashes: np.ndarray


def _finish(batch: pa.RecordBatch, ctx: ExportContext) -> _Finished:
    # A copy: a view would keep the whole batch (every column) alive, as DuckDB exports it as
    # one Arrow struct released as a whole.
    hashes = batch.column("post_hash").to_numpy().copy()
    return _Finished(finish(batch, ctx), hashes)


def _unordered(
    source: Source, con: duckdb.DuckDBPyConnection, ctx: ExportContext, threads: int
) -> Iterator[_Finished]:
    """Judged and finished batches: a producer thread reads the query and hands its batches to
    ``threads`` threads; results taken in the order read (one window in flight)."""
    in_flight: queue.Queue[Future[_Finished] | None] = queue.Queue(maxsize=threads * 2)
    stop = threading.Event()

    def produce(pool: ThreadPoolExecutor) -> None:
        judged = judged_stream(source, con, ctx)
        try:
            for batch in judged:
                if stop.is_set():
                    return
                in_flight.put(pool.submit(_finish, batch, ctx))
        except BaseException as exc:  # handed to the consumer, which raises it
            failed: Future[_Finished] = Future()
            failed.set_exception(exc)
            in_flight.put(failed)
        finally:
            judged.close()
            in_flight.put(None)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="export") as pool:
        producer = threading.Thread(target=produce, args=(pool,), name="scan", daemon=True)
        producer.start()
        try:
            while (future := in_flight.get()) is not None:
                yield future.result()
        finally:
            stop.set()
            while producer.is_alive():  # unblock a producer waiting for room
                try:
                    in_flight.get_nowait()
                except queue.Empty:
                    producer.join(0.05)


def run(
    source: Source,
    ctx: ExportContext,
    *,
    threads: int | None = None,
    memory_limit: str = MEMORY_LIMIT,
) -> Iterator[BatchOutput]:
    """Judge the whole scan in one query, finish its batches on ``threads`` threads and yield
    each one's counts (no records) as it is finished, keeping its delivered records; then yield
    the delivered records in post-id order."""
    threads = threads or default_threads()
    spill = tempfile.mkdtemp(prefix="consentry-export-")
    con = consent_bulk.connect(threads=threads)
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{spill}'")
        # Hash the snapshot side of each join (the right side of its LEFT JOIN), never the scan:
        # a stream's size is unknown to DuckDB, which would otherwise build on it.
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        # The delivered records are kept in a Parquet file beside DuckDB's spill (a DuckDB table
        # in memory would hold them whole), then sorted by DuckDB within its memory limit.
        kept = os.path.join(spill, "delivered.parquet")
        writer: pq.ParquetWriter | None = None
        hashes: list[np.ndarray] = []
        try:
            for finished in _unordered(source, con, ctx, threads):
                # Its counts now, its records once sorted (a progress bar follows the scan).
                yield BatchOutput(
                    records=ctx.schema.empty_table(),
                    members=MEMBERS_SCHEMA.empty_table(),
                    counts=finished.output.counts,
                )
                hashes.append(finished.hashes)
                delivered = _delivered_table(finished.output)
                if delivered.num_rows:
                    if writer is None:
                        writer = pq.ParquetWriter(kept, delivered.schema, compression="lz4")
                    writer.write_table(delivered)
        finally:
            if writer is not None:
                writer.close()
        _check_unique(np.concatenate(hashes) if hashes else np.empty(0, np.uint64), source)
        if writer is None:
            return
        last: str | None = None
        ordered = con.sql(
            f"FROM read_parquet($kept) ORDER BY {MEMBER_PREFIX}post_id", params={"kept": kept}
        )
        for batch in arrow_stream(ordered, STREAM_ROWS):
            if batch.num_rows:
                last = check_ids_ascending(
                    batch.column(f"{MEMBER_PREFIX}post_id"), last, source.where
                )
                yield _split(batch, ctx)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


MEMBERS_SCHEMA = deliveries.MEMBER_SCHEMA.remove(
    deliveries.MEMBER_SCHEMA.get_field_index("delivery_id")
)
"""What ``transform.finish`` gives as members: the stored membership without its delivery (read
back from the table of delivered ones)."""


def _delivered_table(output: BatchOutput) -> pa.Table:
    """Records and members side by side, one table to sort."""
    table = output.records
    for name in output.members.column_names:
        table = table.append_column(MEMBER_PREFIX + name, output.members.column(name))
    return table


def _split(batch: pa.RecordBatch, ctx: ExportContext) -> BatchOutput:
    table = pa.Table.from_batches([batch])
    members = [n for n in table.column_names if n.startswith(MEMBER_PREFIX)]
    records = table.drop_columns(members).cast(ctx.schema)
    member_table = table.select(members).rename_columns([n[len(MEMBER_PREFIX) :] for n in members])
    return BatchOutput(
        records=records,
        members=member_table.cast(MEMBERS_SCHEMA),
        counts=COUNTS_SCHEMA.empty_table(),
    )


def _check_unique(hashes: np.ndarray, source: Source) -> None:
    """Refuse a post id that the scan met twice: equal neighbours among the sorted hashes are
    looked up in the source (a hash shared by two ids is no repeat)."""
    if len(hashes) < 2:
        return
    hashes = np.sort(hashes)
    same = hashes[1:] == hashes[:-1]
    if not same.any():
        return
    candidates = [int(h) for h in np.unique(hashes[1:][same])]
    con = consent_bulk.connect()
    try:
        source.register(con, "posts")
        found = con.execute(
            "SELECT id FROM posts WHERE hash(id) IN (SELECT unnest($hashes::UBIGINT[])) "
            "GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 1",
            {"hashes": candidates},
        ).fetchone()
    except duckdb.Error as exc:
        raise refused(exc, source.where) from exc
    finally:
        con.close()
    if found is not None:
        raise InvalidInput(
            f"the lake table holds post {found[0]!r} more than once; a post must be one row",
            where=source.where,
            field="id",
        )
