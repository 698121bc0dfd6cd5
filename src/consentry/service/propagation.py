"""Propagation in the background: a consent write answers at once, the notices follow.

Every consent write (page, API, GPC) and every deletion or account change through the API hands
the account to one worker thread per server process, which coalesces what piles up while it runs
(a burst of writes is judged in one pass) and calls ``pipeline.propagate.propagate`` for those
accounts. ``consentry notices propagate`` catches anything a crashed server left unjudged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from sqlalchemy import Engine

from consentry.pipeline.propagate import propagate

log = logging.getLogger(__name__)


class BackgroundPropagator:
    coalesce_seconds = 0.2
    """How long a pass waits for more work after the first submission."""

    def __init__(self, engine: Engine, *, enabled: bool = True) -> None:
        self._engine = engine
        self._enabled = enabled
        self._pending: set[str] = set()
        self._changed = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None

    def submit(self, account_ids: Iterable[str]) -> None:
        """Judge these accounts' delivered records again soon (returns at once)."""
        if not self._enabled:
            return
        with self._changed:
            self._pending.update(account_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="propagation", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is pending or running (tests, shutdown); False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._pending and not self._busy, timeout=timeout
            )

    def _run(self) -> None:
        while True:
            # Let a burst of writes pile up, then judge it in one pass: each pass costs about
            # the same for one account as for hundreds, and holds the database's write lock.
            time.sleep(self.coalesce_seconds)
            with self._changed:
                if not self._pending:
                    self._changed.notify_all()
                    return
                accounts, self._pending = sorted(self._pending), set()
                self._busy = True
            try:
                report = propagate(self._engine, account_ids=accounts, actor="propagation")
                if report.notices:
                    log.info("propagation: %s", report.summary())
            except Exception:  # a failed pass must not stop later ones; the CLI catches up
                log.exception("propagation for %d accounts failed", len(accounts))
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
