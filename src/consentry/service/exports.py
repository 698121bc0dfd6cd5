"""Exports started from the admin pages run in a background thread of the server.

The job row and its progress are ``store.jobs``; the export itself is
``consentry.pipeline.export.run_export``, imported when a job runs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from consentry.settings import Settings
from consentry.store import jobs
from consentry.store.db import session_scope
from consentry.store.models import ExportJob

PROGRESS_INTERVAL_SECONDS = 0.5


def start(engine: Engine, settings: Settings, job_id: str) -> threading.Thread:
    thread = threading.Thread(
        target=run_job, args=(engine, settings, job_id), name=f"export-{job_id}", daemon=True
    )
    thread.start()
    return thread


def out_dir_for(settings: Settings, job: ExportJob) -> Path:
    return (
        settings.home / "deliveries" / f"{job.license_id}-{job.cutoff:%Y%m%dT%H%M%SZ}-{job.id[:6]}"
    )


def run_job(engine: Engine, settings: Settings, job_id: str) -> None:
    """Run the job's export, keeping its row up to date; a failure is recorded, not raised."""
    with session_scope(engine) as session:
        job = jobs.start_job(session, job_id=job_id)
        license_id, cutoff, delta, actor = job.license_id, job.cutoff, job.delta, job.requested_by
        out_dir = out_dir_for(settings, job)
    progress = _Progress(engine, job_id)
    try:
        from consentry.pipeline.export import run_export

        result = run_export(
            engine,
            settings,
            license_id=license_id,
            cutoff=cutoff,
            out_dir=out_dir,
            delta=delta,
            progress=progress,
            actor=actor,
        )
    except Exception as exc:  # the job page must say why an export failed
        _finish(engine, job_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        return
    _finish(engine, job_id, status="complete", delivery_id=result.delivery_id, done=progress.total)


class _Progress:
    """The export's progress callback: writes (done, total) at most twice a second."""

    def __init__(self, engine: Engine, job_id: str) -> None:
        self.engine, self.job_id = engine, job_id
        self.total = 0
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        self.total = total
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL_SECONDS and done < total:
            return
        self._last = now
        with session_scope(self.engine) as session:
            jobs.record_progress(session, job_id=self.job_id, done=done, total=total)


def _finish(
    engine: Engine,
    job_id: str,
    *,
    status: str,
    error: str | None = None,
    delivery_id: str | None = None,
    done: int | None = None,
) -> None:
    with session_scope(engine) as session:
        jobs.finish_job(
            session, job_id=job_id, status=status, error=error, delivery_id=delivery_id, done=done
        )
