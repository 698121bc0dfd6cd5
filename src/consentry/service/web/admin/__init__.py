"""The admin pages (``/admin``): staff sign in; viewers read, admins also change."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from consentry.service.deps import EngineDep, StaffDep
from consentry.service.models import ExportJob
from consentry.service.web.admin import audit, auth, exports, parties, policies
from consentry.service.web.admin.common import render
from consentry.store.db import session_scope
from consentry.store.models import AuditEvent, Collaborator, Delivery, License, PolicyVersion

router = APIRouter(prefix="/admin", include_in_schema=False)
for module in (auth, policies, parties, exports, audit):
    router.include_router(module.router)

COUNTED = {
    "Policy versions": (PolicyVersion, "/admin/policies"),
    "Collaborators": (Collaborator, "/admin/collaborators"),
    "Licenses": (License, "/admin/licenses"),
    "Exports": (ExportJob, "/admin/exports"),
    "Deliveries": (Delivery, "/admin/deliveries"),
    "Audit events": (AuditEvent, "/admin/audit"),
}


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        counts = [
            (label, session.scalar(select(func.count()).select_from(model)), link)
            for label, (model, link) in COUNTED.items()
        ]
    return render(request, "dashboard.html", staff, counts=counts)
