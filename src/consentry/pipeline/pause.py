"""Named pause points for the crash tests: they kill an export or a Spark Python worker at a
known moment instead of sleeping and hoping the kill lands before a fast export ends.

Off unless ``CONSENTRY_TEST_PAUSE`` names a directory. Then a process reaching point ``P`` while
``DIR/P.hold`` exists (for the N-th time or later, when the hold file holds N) writes
``DIR/P.<pid>.ready`` and waits until the hold file is removed (or ``TIMEOUT_SECONDS`` have
passed); the test waits for the ready file, kills the process it names, and removes the hold,
so a retried task or a resumed export runs through. Production runs never set it: each point
is then one dictionary lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "CONSENTRY_TEST_PAUSE"
TIMEOUT_SECONDS = 300.0
SHARD_REGISTERED = "shard-registered"
"""In ``write_shards``: a shard and its members were just recorded (the resume marker)."""
SPARK_TASK = "spark-task"
"""On a Spark executor: a task's Python worker is about to judge its first batch."""


def pause_directory() -> str | None:
    """The directory of the pause points, read where the environment is the test's (the
    driver), to be handed to processes that do not inherit it (Spark's Python workers)."""
    return os.environ.get(ENV) or None


def pause(point: str, directory: str | None, *, reached: int = 1) -> None:
    """Wait here while ``directory/point.hold`` exists, having said so in a ready file, once
    the point is ``reached`` as many times as the hold file says (empty: the first time)."""
    if directory is None:
        return
    hold = Path(directory) / f"{point}.hold"
    try:
        wanted = int(hold.read_text() or 1)
    except FileNotFoundError:
        return
    if reached < wanted:
        return
    ready = Path(directory) / f"{point}.{os.getpid()}.ready"
    partial = ready.with_suffix(".partial")
    partial.write_text(str(os.getpid()))
    partial.replace(ready)  # whole when seen
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
