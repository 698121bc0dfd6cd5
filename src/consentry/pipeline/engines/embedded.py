"""The embedded engine: the whole scan judged by one streaming DuckDB query, each batch it
streams out finished (redaction and shaping in Arrow kernels) on a pool of threads, and only the
delivered records sorted by post id at the end.

The query is ``transform.judge_sql`` over the source's posts relation, as the per-batch function
runs it over one batch, so the judged rows are the same; it hashes the snapshot once, not once
per batch. It is not sorted: sorting every judged row (most of them excluded) cost half of the
query. Each batch is counted and finished as it comes, and its delivered records, with their
members, are appended to a Parquet file in a temporary directory; once the scan is done (and
its connection closed) DuckDB sorts that file ``ORDER BY post_id`` into another, which is read
back batch by batch, so the records come out in post-id order whatever the source's order and
the batch sizes: shards are deterministic and a resumed run skips exactly the rows of the shards
already done. DuckDB's sort spills to the same directory beyond ``memory_limit`` and its memory
is freed before the shards are written and their members stored (SQLite's page cache then), and
a bounded window of batches in flight keeps the rest of memory proportional to the batch size,
not to the input.

A post id seen twice is refused: among delivered records on the sorted stream, and for every
judged row by a 64-bit hash of each id, spilled to files by its top bits and each file sorted at
the end (a repeated hash is looked up again in the source, so a collision is not taken for a
repeat).
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
from consentry.pipeline.sources import (
    Source,
    arrow_stream,
    check_ids_ascending,
    refused,
    sql_text,
)
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
RELEASE_EVERY = 16
"""Batches between two returns of PyArrow's freed memory to the system during the scan (its
allocator keeps it otherwise: RSS would creep up with the posts scanned)."""
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
    hashes: list[np.ndarray]
    """The batch's id hashes, sorted, one part per ``HashSpill`` file."""


def _finish(batch: pa.RecordBatch, ctx: ExportContext) -> _Finished:
    # Sorted into a copy: a view would keep the whole batch (every column) alive, as DuckDB
    # exports it as one Arrow struct released as a whole.
    return _Finished(finish(batch, ctx), HashSpill.split(batch.column("post_hash").to_numpy()))


HASH_BITS = 6
"""The judged rows' id hashes are spread over 2**6 files by their top bits; each is sorted alone
at the end, so memory holds 1/64 of them (1.25 MB at 10M posts)."""


class HashSpill:
    """Every judged row's 64-bit id hash, kept on disk to find a repeated one at the end."""

    def __init__(self, folder: str) -> None:
        self.paths = [os.path.join(folder, f"hashes-{i:02d}") for i in range(2**HASH_BITS)]
        self.files = [open(path, "wb") for path in self.paths]  # noqa: SIM115 -- closed by close

    @staticmethod
    def split(hashes: np.ndarray) -> list[np.ndarray]:
        """``hashes`` sorted, cut into one part per file (on the finishing threads)."""
        ordered = np.sort(hashes)
        starts = np.arange(1, 2**HASH_BITS, dtype=np.uint64) << np.uint64(64 - HASH_BITS)
        return np.split(ordered, np.searchsorted(ordered, starts))

    def add(self, parts: list[np.ndarray]) -> None:
        for file, part in zip(self.files, parts, strict=True):
            if len(part):
                file.write(part.tobytes())

    def close(self) -> None:
        for file in self.files:
            file.close()

    def repeated(self) -> list[int]:
        """The hashes met more than once (a file at a time)."""
        self.close()
        found: list[int] = []
        for path in self.paths:
            hashes = np.sort(np.fromfile(path, dtype=np.uint64))
            same = hashes[1:] == hashes[:-1]
            if same.any():
                found += [int(h) for h in np.unique(hashes[1:][same])]
        return found


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
    try:
        kept = os.path.join(spill, "delivered.parquet")
        hashes = HashSpill(spill)
        try:
            delivered = yield from _judge(source, ctx, threads, memory_limit, spill, kept, hashes)
        finally:
            hashes.close()
        # PyArrow's allocator keeps the scan's freed batches (over 100 MB at 10M posts) unless
        # told to give them back, which the sort and the members' SQLite cache would add to.
        pa.default_memory_pool().release_unused()
        _check_unique(hashes.repeated(), source)
        if not delivered:
            return
        ordered = os.path.join(spill, "ordered.parquet")
        con = _connect(threads, memory_limit, spill)
        try:
            con.execute(
                f"COPY (FROM read_parquet({sql_text(kept)}) ORDER BY {MEMBER_PREFIX}post_id) "
                f"TO {sql_text(ordered)} (FORMAT parquet, COMPRESSION lz4)"
            )
        finally:
            con.close()
        os.remove(kept)
        last: str | None = None
        # Without pre-buffering: it would read ahead whole row groups of every column.
        for batch in pq.ParquetFile(ordered, pre_buffer=False).iter_batches(STREAM_ROWS):
            if batch.num_rows:
                last = check_ids_ascending(
                    batch.column(f"{MEMBER_PREFIX}post_id"), last, source.where
                )
                yield _split(batch, ctx)
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _connect(threads: int, memory_limit: str, spill: str) -> duckdb.DuckDBPyConnection:
    con = consent_bulk.connect(threads=threads)
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = {sql_text(spill)}")
    return con


def _judge(
    source: Source,
    ctx: ExportContext,
    threads: int,
    memory_limit: str,
    spill: str,
    kept: str,
    hashes: HashSpill,
) -> Generator[BatchOutput, None, bool]:
    """The scan: yield each finished batch's counts, append its delivered records to ``kept``
    and its id hashes to ``hashes``; return whether any record was delivered. The judging
    connection is closed at the end, its memory freed before the sort."""
    con = _connect(threads, memory_limit, spill)
    # Hash the snapshot side of each join (the right side of its LEFT JOIN), never the scan:
    # a stream's size is unknown to DuckDB, which would otherwise build on it.
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    # The delivered records are kept in a Parquet file beside DuckDB's spill (a DuckDB table
    # in memory would hold them whole), then sorted by DuckDB within its memory limit.
    writer: pq.ParquetWriter | None = None
    try:
        for n, finished in enumerate(_unordered(source, con, ctx, threads), 1):
            if n % RELEASE_EVERY == 0:
                pa.default_memory_pool().release_unused()
            # Its counts now, its records once sorted (a progress bar follows the scan).
            yield BatchOutput(
                records=ctx.schema.empty_table(),
                members=MEMBERS_SCHEMA.empty_table(),
                counts=finished.output.counts,
            )
            hashes.add(finished.hashes)
            delivered = _delivered_table(finished.output)
            if delivered.num_rows:
                if writer is None:
                    writer = pq.ParquetWriter(kept, delivered.schema, compression="lz4")
                writer.write_table(delivered)
    finally:
        if writer is not None:
            writer.close()
        con.close()
    return writer is not None


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


def _check_unique(repeated: list[int], source: Source) -> None:
    """Refuse a post id that the scan met twice: the ids of the ``repeated`` hashes are looked
    up in the source (a hash shared by two ids is no repeat)."""
    if not repeated:
        return
    con = consent_bulk.connect()
    try:
        source.register(con, "posts")
        found = con.execute(
            "SELECT id FROM posts WHERE hash(id) IN (SELECT unnest($hashes::UBIGINT[])) "
            "GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 1",
            {"hashes": repeated},
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
