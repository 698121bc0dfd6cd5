"""Exports started from the admin pages: a job row, a background thread, progress in the DB.

Progress lives in ``export_jobs`` (not in memory) so that any server worker can show it. The
export itself is ``consentry.pipeline.export.run_export``, imported when a job runs.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from consentry.service.models import ExportJob
from consentry.settings import Settings
from consentry.store.db import session_scope
from consentry.store.ledger import append_audit_event
from consentry.store.parties import get_license

PROGRESS_INTERVAL_SECONDS = 0.5


def request_export(
    session: Session, *, license_id: str, cutoff: datetime | None, delta: bool, actor: str
) -> ExportJob:
    """A queued job for the license at the cut-off (default: now), audited."""
    get_license(session, license_id)
    now = datetime.now(UTC)
    job = ExportJob(
        id=uuid.uuid4().hex[:16],
        license_id=license_id,
        cutoff=cutoff or now,
        delta=delta,
        requested_by=actor,
        requested_at=now,
        status="queued",
        done=0,
        total=0,
    )
    session.add(job)
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="export.request",
        object_type="license",
        object_id=license_id,
        details={"job_id": job.id, "cutoff": job.cutoff.isoformat(), "delta": delta},
    )
    return job


def recent_jobs(session: Session, limit: int = 50) -> list[ExportJob]:
    return list(
        session.scalars(select(ExportJob).order_by(ExportJob.requested_at.desc()).limit(limit))
    )


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
        job = session.get(ExportJob, job_id)
        assert job is not None
        job.status = "running"
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
        _finish(engine, job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        return
    _finish(engine, job_id, "complete", delivery_id=result.delivery_id, done=progress.total)


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
            job = session.get(ExportJob, self.job_id)
            assert job is not None
            job.done, job.total = done, total


def _finish(
    engine: Engine,
    job_id: str,
    status: str,
    *,
    error: str | None = None,
    delivery_id: str | None = None,
    done: int | None = None,
) -> None:
    with session_scope(engine) as session:
        job = session.get(ExportJob, job_id)
        assert job is not None
        job.status, job.error, job.delivery_id = status, error, delivery_id
        job.finished_at = datetime.now(UTC)
        if done is not None:
            job.done = job.total = max(done, job.done)
