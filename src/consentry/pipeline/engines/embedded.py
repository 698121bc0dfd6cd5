"""The embedded engine: one streaming DuckDB query judges the posts, a pool of threads finishes
the judged batches (redaction and shaping in Arrow kernels, which release the GIL).

Results come back in input order; a bounded window of batches in flight keeps memory
proportional to the batch size, not to the input.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa

from consentry.domain import consent_bulk
from consentry.pipeline.context import ExportContext
from consentry.pipeline.transform import (
    SCAN_SCHEMA,
    BatchResult,
    finish,
    judge_parameters,
    judge_sql,
    register_context,
)

NAME = "embedded"
JUDGED_BATCH_ROWS = 65_536
DUCKDB_MEMORY_LIMIT = "256MB"
"""The judging query streams; left alone, DuckDB holds ~800 MB of buffers for it at 2M posts."""


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run(
    posts: Iterable[pa.RecordBatch], ctx: ExportContext, *, threads: int | None = None
) -> Iterator[BatchResult]:
    """Judge the id-ordered ``posts`` in one streaming DuckDB query (its hash table on the
    snapshot built once) on a producer thread, finish the judged batches on ``threads`` threads,
    and yield the results in order, so that the caller's writing overlaps the reading."""
    threads = threads or default_threads()
    con = consent_bulk.connect(threads=threads)
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}'")
    register_context(con, ctx)
    con.register("posts", pa.RecordBatchReader.from_batches(SCAN_SCHEMA, posts))
    judged = con.sql(judge_sql(ctx, ordered=False), params=judge_parameters(ctx)).to_arrow_reader(
        JUDGED_BATCH_ROWS
    )
    in_flight: queue.Queue[Future[BatchResult] | None] = queue.Queue(maxsize=threads * 2)
    stop = threading.Event()

    def produce(pool: ThreadPoolExecutor) -> None:
        try:
            for batch in judged:
                if stop.is_set():
                    return
                in_flight.put(pool.submit(finish, batch, ctx))
        except BaseException as exc:  # handed to the consumer, which raises it
            failed: Future[BatchResult] = Future()
            failed.set_exception(exc)
            in_flight.put(failed)
        finally:
            in_flight.put(None)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="export") as pool:
        producer = threading.Thread(target=produce, args=(pool,), name="judge", daemon=True)
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
            con.close()
