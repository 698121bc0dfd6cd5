"""The admin pages (``/admin``): staff sign in; viewers read, admins also change."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consentry.service.deps import EngineDep, StaffDep
from consentry.service.web.admin import audit, auth, exports, parties, policies, receipts
from consentry.service.web.admin.common import render
from consentry.store.db import session_scope
from consentry.store.overview import row_counts

router = APIRouter(prefix="/admin", include_in_schema=False)
for module in (auth, policies, parties, exports, audit, receipts):
    router.include_router(module.router)

COUNTED = {
    "policy_versions": ("Policy versions", "/admin/policies"),
    "collaborators": ("Collaborators", "/admin/collaborators"),
    "licenses": ("Licenses", "/admin/licenses"),
    "export_jobs": ("Exports", "/admin/exports"),
    "deliveries": ("Deliveries", "/admin/deliveries"),
    "audit_events": ("Audit events", "/admin/audit"),
}


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        rows = row_counts(session)
    counts = [(label, rows[table], link) for table, (label, link) in COUNTED.items()]
    return render(request, "dashboard.html", staff, counts=counts)
