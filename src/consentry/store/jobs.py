"""Export jobs started from the admin pages: requested, running, progress, finished.

Progress lives in ``export_jobs`` (not in a server's memory) so that any worker can show it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.errors import NotFound
from consentry.store.ledger import append_audit_event
from consentry.store.models import ExportJob
from consentry.store.parties import get_license


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


def get_job(session: Session, *, job_id: str) -> ExportJob:
    job = session.get(ExportJob, job_id)
    if job is None:
        raise NotFound("export job", job_id, listing="/admin/exports")
    return job


def recent_jobs(session: Session, *, limit: int = 50) -> list[ExportJob]:
    return list(
        session.scalars(select(ExportJob).order_by(ExportJob.requested_at.desc()).limit(limit))
    )


def start_job(session: Session, *, job_id: str) -> ExportJob:
    """Mark the job running (its export is audited by the export itself)."""
    job = get_job(session, job_id=job_id)
    job.status = "running"
    return job


def record_progress(session: Session, *, job_id: str, done: int, total: int) -> None:
    job = get_job(session, job_id=job_id)
    job.done, job.total = done, total


def finish_job(
    session: Session,
    *,
    job_id: str,
    status: str,
    error: str | None = None,
    delivery_id: str | None = None,
    done: int | None = None,
) -> ExportJob:
    """Record how the job ended: ``complete`` with its delivery, or ``failed`` with why."""
    assert status in ("complete", "failed"), status
    job = get_job(session, job_id=job_id)
    job.status, job.error, job.delivery_id = status, error, delivery_id
    job.finished_at = datetime.now(UTC)
    if done is not None:
        job.done = job.total = max(done, job.done)
    return job
