"""Start an export and watch its progress; deliveries and what they hold."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from consentry.pipeline.metadata import EXCLUSION_REASON_TEXT
from consentry.service import exports
from consentry.service.deps import AdminDep, EngineDep, SettingsDep, StaffDep
from consentry.service.web.admin.common import back_to, may_write, optional_day, render
from consentry.store import deliveries as store_deliveries
from consentry.store import jobs
from consentry.store.db import session_scope
from consentry.store.parties import list_licenses

router = APIRouter()


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        recent = jobs.recent_jobs(session)
        licenses = list_licenses(session, status="active")
    return render(request, "exports.html", staff, jobs=recent, licenses=licenses)


@router.post("/exports", response_class=HTMLResponse)
def start_export(
    engine: EngineDep,
    settings: SettingsDep,
    staff: AdminDep,
    license_id: Annotated[str, Form()],
    cutoff: Annotated[str, Form()] = "",
    delta: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    with session_scope(engine) as session:
        job = jobs.request_export(
            session,
            license_id=license_id,
            cutoff=optional_day(cutoff, "cutoff"),
            delta=delta,
            actor=staff.actor,
        )
    exports.start(engine, settings, job.id)
    return back_to(f"/admin/exports/{job.id}")


@router.get("/exports/{job_id}", response_class=HTMLResponse)
def export_job(request: Request, job_id: str, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        job = jobs.get_job(session, job_id=job_id)
    return render(request, "export_job.html", staff, job=job)


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        rows = store_deliveries.list_deliveries(session)
    return render(request, "deliveries.html", staff, deliveries=rows)


@router.get("/deliveries/{delivery_id}", response_class=HTMLResponse)
def delivery(request: Request, delivery_id: str, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        row = store_deliveries.get_delivery(session, delivery_id, listing="/admin/deliveries")
        shards = store_deliveries.completed_shards(session, delivery_id)
        accounts = store_deliveries.account_count(session, delivery_id=delivery_id)
    return render(
        request,
        "delivery.html",
        staff,
        delivery=row,
        shards=shards,
        accounts=accounts,
        counts=count_rows(row.counts),
    )


COUNT_WORDS = {
    "scanned": "Posts read",
    "in_scope": "Posts within the license's scope",
    "delivered": "Records delivered",
    "previously_delivered": "Left out: delivered before (a delta delivers each post once)",
    "withdrawn_after_delivery": "Left out: taken back by an earlier deletion notice",
    "reposts_dropped": "Reposts left out (never licensable)",
    "quotes_inlined": "Quotes delivered with the quoted post",
    "quotes_masked": "Quotes delivered with [QUOTED] in place of the quoted post",
}


def count_rows(counts: dict[str, Any]) -> list[tuple[str, int]]:
    """A delivery's counts as (what, how many) in words, exclusions by reason included."""
    rows = [(COUNT_WORDS[k], int(counts[k])) for k in COUNT_WORDS if k in counts]
    excluded = counts.get("excluded") or {}
    rows += [
        (f"Left out: {EXCLUSION_REASON_TEXT.get(reason, reason)}", int(n))
        for reason, n in excluded.items()
        if n
    ]
    return rows
