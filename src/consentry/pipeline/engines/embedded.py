"""The embedded engine: one streaming DuckDB query judges the posts, a pool of threads finishes
the judged batches (redaction and shaping in Arrow kernels, which release the GIL).

Results come back in input order; a bounded window of batches in flight keeps memory
proportional to the batch size, not to the input.
"""

from __future__ import annotations

import os
from collections import deque
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


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run(
    posts: Iterable[pa.RecordBatch], ctx: ExportContext, *, threads: int | None = None
) -> Iterator[BatchResult]:
    """Judge the id-ordered ``posts`` in one streaming DuckDB query (its hash table on the
    snapshot built once), then finish the judged batches on ``threads`` threads, in order."""
    threads = threads or default_threads()
    con = consent_bulk.connect(threads=threads)
    register_context(con, ctx)
    con.register("posts", pa.RecordBatchReader.from_batches(SCAN_SCHEMA, posts))
    judged = con.sql(judge_sql(ctx, ordered=False), params=judge_parameters(ctx)).to_arrow_reader(
        JUDGED_BATCH_ROWS
    )
    window: deque[Future[BatchResult]] = deque()
    try:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="export") as pool:
            for batch in judged:
                window.append(pool.submit(finish, batch, ctx))
                if len(window) > threads * 2:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
    finally:
        con.close()
