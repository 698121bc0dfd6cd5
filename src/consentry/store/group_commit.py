"""Group commit: concurrent writes of one process share one transaction, one chain extension
and one commit.

Every append to a hash chain locks the chain's head row until its transaction commits, so
appends are serial across all server processes, and each one used to hold the lock through its
own commit: on PostgreSQL that is a WAL flush (about 4 ms on the test machine), which capped
consent writes near 100/s whatever the number of clients. Here the first writer to arrive
leads: it locks the chains' heads once (``store.ledger.hold_heads``), then takes every write
queued in the process by then and hands them to ``apply`` at once, which records the batch in a
few statements whatever its size (``store.consent.record_consents``: one query for every
check, one INSERT per chain) and answers each write with its result or the error that refused
it alone.
It commits them once and hands the lead to the first write that arrived meanwhile. A caller
returns only after the commit that holds its write, so an acknowledged write is durable; the
ledger order is the order in which the writes reached the leader, which is their order of
arrival.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from consentry.store.db import session_scope
from consentry.store.ledger import hold_heads

Item = TypeVar("Item")
Result = TypeVar("Result")

Apply = Callable[[Session, Sequence[Item]], Sequence[Result | Exception]]
"""Records a batch; entry *i* of its answer is item *i*'s result or the error refusing it."""


class _Write(Generic[Item, Result]):
    def __init__(self, item: Item) -> None:
        self.item = item
        self.woken = threading.Event()
        self.leads = False
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """Runs ``apply`` over the items that threads of a process write at once, in shared
    transactions."""

    def __init__(self, engine: Engine, apply: Apply[Item, Result]) -> None:
        self._engine = engine
        self._apply = apply
        self._lock = threading.Lock()
        self._queue: list[_Write[Item, Result]] = []
        self._leading = False

    def run(self, item: Item) -> Result:
        """``item``'s result once the transaction holding it has committed; the error that
        refused it (nothing of it recorded), or the batch's if that or its commit failed."""
        me: _Write[Item, Result] = _Write(item)
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
        batch: list[_Write[Item, Result]] = []
        try:
            with session_scope(self._engine) as session:
                # The heads are locked first: while another process holds them, the writes
                # arriving here join this batch instead of waiting for the next one.
                hold_heads(session)
                with self._lock:
                    batch, self._queue = self._queue, []
                outcomes = self._apply(session, [write.item for write in batch])
                for write, outcome in zip(batch, outcomes, strict=True):
                    if isinstance(outcome, Exception):
                        write.error = outcome
                    else:
                        write.result = outcome
        except Exception as exc:  # the batch or its commit failed: none of it is recorded
            if not batch:
                with self._lock:
                    batch, self._queue = self._queue, []
            for write in batch:
                write.error = exc
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
