"""The embedded engine: the whole scan judged by one streaming DuckDB query, each batch it
streams out finished (redaction and shaping in Arrow kernels) on a pool of threads.

The query is ``transform.judge_sql`` over the source's posts relation, as the per-batch function
runs it over one batch, so the judged rows are the same; it hashes the snapshot once, not once
per batch, and ends in ``ORDER BY post_id``, so the records come out in post-id order whatever
the source's order and the batch sizes: shards are deterministic and a resumed run skips exactly
the rows of the shards already done. DuckDB's sort spills to a temporary directory beyond
``memory_limit``, and a bounded window of batches in flight keeps the rest of memory
proportional to the batch size, not to the input.
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
import pyarrow as pa

from consentry.domain import consent_bulk
from consentry.pipeline.context import ExportContext
from consentry.pipeline.plan import ExportPlan
from consentry.pipeline.sources import Source, arrow_stream, check_ids_ascending, refused
from consentry.pipeline.transform import (
    BatchOutput,
    finish,
    judge_parameters,
    judge_sql,
    register_context,
)

NAME = "embedded"
STREAM_ROWS = 65_536
MEMORY_LIMIT = "384MB"
"""DuckDB's own share (hash tables, sort runs); the sort spills past it."""


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
    source: Source, ctx: ExportContext, *, threads: int, memory_limit: str
) -> Generator[pa.RecordBatch]:
    """The judged rows of the whole scan (``judge_sql``), in post-id order, batch by batch."""
    spill = tempfile.mkdtemp(prefix="consentry-export-")
    con = consent_bulk.connect(threads=threads)
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{spill}'")
        # Hash the snapshot side of each join (the right side of its LEFT JOIN), never the scan:
        # a stream's size is unknown to DuckDB, which would otherwise build on it.
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        register_context(con, ctx)
        source.register(con, "posts")
        last: str | None = None
        try:
            judged = con.sql(judge_sql(ctx), params=judge_parameters(ctx))
            for batch in arrow_stream(judged, STREAM_ROWS):
                if batch.num_rows:
                    last = check_ids_ascending(batch.column("post_id"), last, source.where)
                    yield batch
        except duckdb.Error as exc:
            raise refused(exc, source.where) from exc
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def run(
    source: Source,
    ctx: ExportContext,
    *,
    threads: int | None = None,
    memory_limit: str = MEMORY_LIMIT,
) -> Iterator[BatchOutput]:
    """Judge the whole scan in one query and finish its batches on ``threads`` threads, in
    order; a producer thread reads the query, so the caller's writing overlaps it."""
    threads = threads or default_threads()
    in_flight: queue.Queue[Future[BatchOutput] | None] = queue.Queue(maxsize=threads * 2)
    stop = threading.Event()

    def produce(pool: ThreadPoolExecutor) -> None:
        judged = judged_stream(source, ctx, threads=threads, memory_limit=memory_limit)
        try:
            for batch in judged:
                if stop.is_set():
                    return
                in_flight.put(pool.submit(finish, batch, ctx))
        except BaseException as exc:  # handed to the consumer, which raises it
            failed: Future[BatchOutput] = Future()
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
