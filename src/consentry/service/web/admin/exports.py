"""Start an export and watch its progress; deliveries and what they hold."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from consentry.errors import NotFound
from consentry.service import exports
from consentry.service.deps import EngineDep, SettingsDep, StaffDep
from consentry.service.models import ExportJob
from consentry.service.web.admin.common import back_to, may_write, optional_day, render
from consentry.store.db import session_scope
from consentry.store.models import Delivery, DeliveryMember, DeliveryShard
from consentry.store.parties import list_licenses

router = APIRouter()


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        jobs = exports.recent_jobs(session)
        licenses = [lic for lic in list_licenses(session) if lic.status == "active"]
    return render(request, "exports.html", staff, jobs=jobs, licenses=licenses)


@router.post("/exports", response_class=HTMLResponse)
def start_export(
    engine: EngineDep,
    settings: SettingsDep,
    staff: StaffDep,
    license_id: Annotated[str, Form()],
    cutoff: Annotated[str, Form()] = "",
    delta: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    with session_scope(engine) as session:
        job = exports.request_export(
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
        job = session.get(ExportJob, job_id)
        if job is None:
            raise NotFound("export job", job_id, listing="/admin/exports")
    return render(request, "export_job.html", staff, job=job)


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        rows = list(session.scalars(select(Delivery).order_by(Delivery.started_at.desc())))
    return render(request, "deliveries.html", staff, deliveries=rows)


@router.get("/deliveries/{delivery_id}", response_class=HTMLResponse)
def delivery(request: Request, delivery_id: str, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery_id)
        if row is None:
            raise NotFound("delivery", delivery_id, listing="/admin/deliveries")
        shards = list(
            session.scalars(
                select(DeliveryShard)
                .where(DeliveryShard.delivery_id == delivery_id)
                .order_by(DeliveryShard.name)
            )
        )
        accounts = session.scalar(
            select(func.count(func.distinct(DeliveryMember.account_id))).where(
                DeliveryMember.delivery_id == delivery_id
            )
        )
    return render(request, "delivery.html", staff, delivery=row, shards=shards, accounts=accounts)
