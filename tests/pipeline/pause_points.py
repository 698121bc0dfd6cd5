"""The test side of ``consentry.pipeline.pause``: hold a point, wait for whoever reaches it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from consentry.pipeline import pause


def hold(tmp_path: Path, point: str, *, reached: int = 1) -> Path:
    """A pause directory whose ``point`` holds whoever reaches it for the ``reached``-th time."""
    pauses = tmp_path / "pauses"
    pauses.mkdir(exist_ok=True)
    (pauses / f"{point}.hold").write_text(str(reached))
    return pauses


def release(pauses: Path, point: str) -> None:
    (pauses / f"{point}.hold").unlink(missing_ok=True)


def paused(point: str, pauses: Path, process: subprocess.Popen[bytes] | None = None) -> int:
    """The pid of the first process paused at ``point`` (``process`` ending first fails)."""
    deadline = time.monotonic() + pause.TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for ready in sorted(pauses.glob(f"{point}.*.ready")):
            return int(ready.read_text())
        if process is not None and process.poll() is not None:
            stderr = process.stderr.read() if process.stderr else b""
            raise AssertionError(f"ended before it reached {point!r}: {stderr!r}")
        time.sleep(0.01)
    raise AssertionError(f"nothing reached {point!r} in {pause.TIMEOUT_SECONDS:.0f} s")
