"""Group commit: concurrent writes of one process share one transaction and one commit.

Every append to a hash chain locks the chain's head row until its transaction commits, so
appends are serial across all server processes, and each one used to hold the lock through its
own commit: on PostgreSQL that is a WAL flush (about 4 ms on the test machine), which capped
consent writes near 100/s whatever the number of clients. Here the first writer to arrive
leads: it locks the chains' heads once (``store.ledger.hold_heads``), then takes every write
queued in the process by then, runs each in its own savepoint (one write's
error undoes that write alone and is raised to its caller), commits them once, and hands the
lead to the first write that arrived meanwhile. A caller returns only after the commit that
holds its write, so an acknowledged write is durable; the ledger order is the order in which
the writes reached the leader, which is their order of arrival.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from consentry.store.db import session_scope
from consentry.store.ledger import hold_heads

T = TypeVar("T")


class _Write(Generic[T]):
    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        self.woken = threading.Event()
        self.leads = False
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """Runs ``work(session)`` for many threads of a process in shared transactions."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._queue: list[_Write[Any]] = []
        self._leading = False

    def run(self, work: Callable[[Session], T]) -> T:
        """``work``'s result once the transaction holding it has committed; its error if it
        failed (its savepoint rolled back) or the commit failed."""
        me = _Write(work)
        with self._lock:
            self._queue.append(me)
            if not self._leading:
                self._leading = me.leads = True
        if not me.leads:
            me.woken.wait()  # either done, or handed the lead
        if not me.done:
            self._lead()
        if me.error is not None:
            raise me.error
        return me.result  # type: ignore[return-value]

    def _lead(self) -> None:
        batch: list[_Write[Any]] = []
        try:
            with session_scope(self._engine) as session:
                # The heads are locked first: while another process holds them, the writes
                # arriving here join this batch instead of waiting for the next one.
                hold_heads(session)
                with self._lock:
                    batch, self._queue = self._queue, []
                for write in batch:
                    try:
                        with session.begin_nested():
                            write.result = write.work(session)
                    except Exception as exc:  # this write's alone: its savepoint is undone
                        write.error = exc
        except Exception as exc:  # the heads or the commit failed: none of the batch is recorded
            if not batch:
                with self._lock:
                    batch, self._queue = self._queue, []
            for write in batch:
                write.error = write.error or exc
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.leads = True
                    successor.woken.set()
                else:
                    self._leading = False
            for write in batch:
                write.done = True
                write.woken.set()
