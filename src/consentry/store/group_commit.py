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

On PostgreSQL a batch is first handed to ``at_once`` (``store.consent.record_consents_at_once``):
one autocommit statement on the writer thread's own connection that takes the heads' locks,
checks and appends the batch and moves the heads, so the heads are held only while the
database runs it and flushes its commit, not through round trips to this process. What it
cannot answer alone (it returns None, nothing recorded) goes the locking way above. As the
heads stay locked through each WAL flush, the ledger takes one commit at a time there, so a
batch waits up to ``gather_seconds`` for the writers of the batch before it to come back.

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

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from consentry.store.db import session_scope
from consentry.store.ledger import hold_heads

Item = TypeVar("Item")
Result = TypeVar("Result")

Apply = Callable[[Session, Sequence[Item]], Sequence[Result | Exception]]
"""Records a batch; entry *i* of its answer is item *i*'s result or the error refusing it."""

ApplyAtOnce = Callable[[Connection, Sequence[Item]], Sequence[Result | Exception] | None]
"""Records a batch on an autocommit connection, in statements that take the heads' locks
themselves (committed when it returns); None, with nothing recorded: the batch must go the
locking way (``Apply``)."""

IDLE_SECONDS = 2.0
"""How long the writer thread waits for more writes before it ends (the next write starts it
again): no thread is left behind by an app that stopped writing, and none is started per write
under load."""


class GroupCommit(Generic[Item, Result]):
    """Runs ``apply`` over the items written in a process at once, in shared transactions, on
    one writer thread."""

    def __init__(
        self,
        engine: Engine,
        apply: Apply[Item, Result],
        at_once: ApplyAtOnce[Item, Result] | None = None,
        gather_seconds: float = 0.0,
    ) -> None:
        self._engine = engine
        self._apply = apply
        self._at_once = at_once
        self._gather_seconds = gather_seconds
        self._changed = threading.Condition()
        self._queue: list[tuple[Item, Future[Result]]] = []
        self._wanted = 1
        """How many queued writes wake the writer thread (more while it gathers a batch)."""
        self._writer: threading.Thread | None = None
        self._lock_file = _lock_file_for(engine)
        self._conn: Connection | None = None
        """``at_once``'s, the writer thread's own while it runs: a connection taken from the
        pool for each batch is pinged first, a round trip as long as the batch's own."""

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
            if len(self._queue) >= self._wanted:
                self._changed.notify()
        return future

    def run(self, item: Item) -> Result:
        """``item``'s result, waiting in this thread (``submit``)."""
        return self.submit(item).result()

    async def write(self, item: Item) -> Result:
        """``item``'s result, awaited on the running event loop (``submit``)."""
        return await asyncio.wrap_future(self.submit(item))

    def _write_batches(self) -> None:
        expected = 0
        while True:
            with self._changed:
                if not self._changed.wait_for(lambda: self._queue, timeout=IDLE_SECONDS):
                    self._writer = None
                    self._drop_connection()
                    return
                if self._gather_seconds and len(self._queue) < expected:
                    self._wanted = expected
                    self._changed.wait_for(
                        lambda: len(self._queue) >= self._wanted, timeout=self._gather_seconds
                    )
                    self._wanted = 1
            written = self._commit_batch()
            with self._changed:
                # The writers just answered come back soon with their next writes, and those
                # queued meanwhile wait already: a batch of them all, not the first few of them.
                expected = written + len(self._queue)

    def _commit_batch(self) -> int:
        """Records the queued writes, answers them, and tells how many there were."""
        batch: list[tuple[Item, Future[Result]]] = []
        outcomes: Sequence[Result | BaseException] | None = None
        if self._at_once is not None:
            with self._changed:
                batch, self._queue = self._queue, []
            try:
                outcomes = self._at_once(self._connection(), [item for item, _ in batch])
            except Exception as exc:  # the batch or its commit failed: none of it is recorded
                self._drop_connection()  # it may be broken: the next batch takes a pinged one
                outcomes = [exc] * len(batch)
        if outcomes is None:
            batch, outcomes = self._commit_locked(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        return len(batch)

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._conn.commit()  # ends SQLAlchemy's own begin (the database has none open)
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _commit_locked(
        self, batch: list[tuple[Item, Future[Result]]]
    ) -> tuple[list[tuple[Item, Future[Result]]], Sequence[Result | BaseException]]:
        """``batch`` (or, when empty, the writes queued once the heads are locked) recorded by
        ``apply`` under the heads' locks, and its outcomes."""
        try:
            with self._cross_process_lock(), session_scope(self._engine) as session:
                # The heads are locked first: while another process holds them, the writes
                # arriving here join this batch instead of waiting for the next one.
                hold_heads(session)
                if not batch:
                    with self._changed:
                        batch, self._queue = self._queue, []
                return batch, self._apply(session, [item for item, _ in batch])
        except Exception as exc:  # the batch or its commit failed: none of it is recorded
            if not batch:
                with self._changed:
                    batch, self._queue = self._queue, []
            return batch, [exc] * len(batch)

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
