"""The embedded engine: each batch of the id-ordered scan is judged (one DuckDB plan, sorted by
post id) and finished (redaction and shaping in Arrow kernels) on a pool of threads.

Results come back in scan order, so the records come out in post-id order whatever the batch
sizes: shards are deterministic. A bounded window of batches in flight keeps memory
proportional to the batch size, not to the input. (One streaming query over the whole scan
would hash the snapshot once, but DuckDB may then build on the stream and emit rows in the
snapshot's order, which breaks both determinism and resume.)
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from consentry.pipeline.context import ExportContext
from consentry.pipeline.plan import ExportPlan
from consentry.pipeline.transform import BatchJudge, BatchOutput

NAME = "embedded"


@dataclass(frozen=True)
class EmbeddedEngine:
    """The default engine: one machine, ``threads`` workers (default: up to 4 cores)."""

    threads: int | None = None
    name: str = NAME

    def execute(self, plan: ExportPlan) -> Iterator[BatchOutput]:
        return run(plan.source.batches(), plan.context, threads=self.threads)


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run(
    posts: Iterable[pa.RecordBatch], ctx: ExportContext, *, threads: int | None = None
) -> Iterator[BatchOutput]:
    """Judge and finish the id-ordered ``posts`` batch by batch on ``threads`` threads; a
    producer thread reads the scan, so the caller's writing overlaps the reading."""
    threads = threads or default_threads()
    local = threading.local()

    def judge(batch: pa.RecordBatch) -> BatchOutput:
        if not hasattr(local, "judge"):
            local.judge = BatchJudge(ctx)
        return local.judge(batch)

    in_flight: queue.Queue[Future[BatchOutput] | None] = queue.Queue(maxsize=threads * 2)
    stop = threading.Event()

    def produce(pool: ThreadPoolExecutor) -> None:
        try:
            for batch in posts:
                if stop.is_set():
                    return
                in_flight.put(pool.submit(judge, batch))
        except BaseException as exc:  # handed to the consumer, which raises it
            failed: Future[BatchOutput] = Future()
            failed.set_exception(exc)
            in_flight.put(failed)
        finally:
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
