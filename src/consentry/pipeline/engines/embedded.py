"""The embedded engine: batches of posts through the batch transform on a pool of threads.

Arrow and DuckDB kernels release the GIL, so threads give real parallelism; results come back
in input order (a bounded window of batches in flight keeps memory proportional to batch size).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa

from consentry.pipeline.context import ExportContext
from consentry.pipeline.transform import BatchResult, BatchTransformer

NAME = "embedded"


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run(
    batches: Iterable[pa.RecordBatch], ctx: ExportContext, *, threads: int | None = None
) -> Iterator[BatchResult]:
    """Transform ``batches`` in order, ``threads`` at a time."""
    threads = threads or default_threads()
    local = threading.local()

    def transform(batch: pa.RecordBatch) -> BatchResult:
        if not hasattr(local, "transformer"):
            local.transformer = BatchTransformer(ctx)
        return local.transformer(batch)

    window: deque[Future[BatchResult]] = deque()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="export") as pool:
        for batch in batches:
            window.append(pool.submit(transform, batch))
            if len(window) > threads * 2:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
