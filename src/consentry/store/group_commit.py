"""Group commit: concurrent writes of one process share one transaction, one chain extension
and one commit.

Every append to a hash chain locks the chain's head row until its transaction commits, so
appends are serial across all server processes, and each one used to hold the lock through its
own commit: on PostgreSQL that is a WAL flush (about 4 ms on the test machine), which capped
consent writes near 100/s whatever the number of clients. Here one writer thread per process
takes the writes: it locks the chains' heads once (``store.ledger.hold_heads``), then takes
every write queued in the process by then and hands them to ``apply`` at once, which records
the batch in a few statements whatever its size (``store.consent.record_consents``: one query
for every check, one INSERT per chain) and answers each write with its result or the error
that refused it alone. It commits them once, then takes the writes that arrived meanwhile. A
write's future is resolved only after the commit that holds it, so an acknowledged write is
durable; the ledger order is the order in which the writes reached the queue.

Callers wait on a future, not in a thread of their own: an async route awaits ``write`` on its
event loop, where a thread per waiting write (and the hand-overs between those threads) cost
more CPU than the batch's statements did.

On SQLite the processes' writer threads also take an exclusive ``flock`` on a file beside the
database before they begin: SQLite's own wait for its write lock is to sleep and retry with
growing sleeps (up to 100 ms), so one process's writer could sleep through many commits of
another's; the ``flock`` wakes the next one as soon as the lock is free.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from consentry.store.db import session_scope
from consentry.store.ledger import hold_heads

Item = TypeVar("Item")
Result = TypeVar("Result")

Apply = Callable[[Session, Sequence[Item]], Sequence[Result | Exception]]
"""Records a batch; entry *i* of its answer is item *i*'s result or the error refusing it."""

IDLE_SECONDS = 2.0
"""How long the writer thread waits for more writes before it ends (the next write starts it
again): no thread is left behind by an app that stopped writing, and none is started per write
under load."""


class GroupCommit(Generic[Item, Result]):
    """Runs ``apply`` over the items written in a process at once, in shared transactions, on
    one writer thread."""

    def __init__(self, engine: Engine, apply: Apply[Item, Result]) -> None:
        self._engine = engine
        self._apply = apply
        self._changed = threading.Condition()
        self._queue: list[tuple[Item, Future[Result]]] = []
        self._writer: threading.Thread | None = None
        self._lock_file = _lock_file_for(engine)

    def submit(self, item: Item) -> Future[Result]:
        """A future of ``item``'s result, set once the transaction holding it has committed;
        or of the error that refused it (nothing of it recorded), or the batch's if that or
        its commit failed."""
        future: Future[Result] = Future()
        with self._changed:
            self._queue.append((item, future))
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_batches, name="group-commit", daemon=True
                )
                self._writer.start()
            self._changed.notify()
        return future

    def run(self, item: Item) -> Result:
        """``item``'s result, waiting in this thread (``submit``)."""
        return self.submit(item).result()

    async def write(self, item: Item) -> Result:
        """``item``'s result, awaited on the running event loop (``submit``)."""
        return await asyncio.wrap_future(self.submit(item))

    def _write_batches(self) -> None:
        while True:
            with self._changed:
                if not self._changed.wait_for(lambda: self._queue, timeout=IDLE_SECONDS):
                    self._writer = None
                    return
            self._commit_batch()

    def _commit_batch(self) -> None:
        batch: list[tuple[Item, Future[Result]]] = []
        outcomes: Sequence[Result | BaseException] = []
        try:
            with self._cross_process_lock(), session_scope(self._engine) as session:
                # The heads are locked first: while another process holds them, the writes
                # arriving here join this batch instead of waiting for the next one.
                hold_heads(session)
                with self._changed:
                    batch, self._queue = self._queue, []
                outcomes = self._apply(session, [item for item, _ in batch])
        except Exception as exc:  # the batch or its commit failed: none of it is recorded
            if not batch:
                with self._changed:
                    batch, self._queue = self._queue, []
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    @contextmanager
    def _cross_process_lock(self) -> Iterator[None]:
        if self._lock_file is None:
            yield
            return
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock


def _lock_file_for(engine: Engine) -> Path | None:
    """``DATABASE-writers.lock`` beside a SQLite database file; None for other databases (the
    head rows' locks queue their waiters) and for in-memory SQLite."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(f"{engine.url.database}-writers.lock")
