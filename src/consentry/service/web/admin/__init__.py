"""The admin pages (``/admin``): staff sign in; viewers read, admins also change."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consentry.service.deps import EngineDep, StaffDep
from consentry.service.web.admin import (
    accounts,
    audit,
    auth,
    exports,
    invoices,
    licenses,
    notices,
    parties,
    policies,
    receipts,
    reports,
)
from consentry.service.web.admin.common import render
from consentry.store.db import session_scope
from consentry.store.notices import overdue_notices
from consentry.store.overview import row_counts

router = APIRouter(prefix="/admin", include_in_schema=False)
for module in (
    accounts,
    auth,
    policies,
    parties,
    licenses,
    exports,
    notices,
    audit,
    receipts,
    reports,
    invoices,
):
    router.include_router(module.router)

COUNTED = {
    "policy_versions": ("Policy versions", "/admin/policies"),
    "collaborators": ("Collaborators", "/admin/collaborators"),
    "licenses": ("Licenses", "/admin/licenses"),
    "export_jobs": ("Exports", "/admin/exports"),
    "deliveries": ("Deliveries", "/admin/deliveries"),
    "deletion_notices": ("Deletion notices", "/admin/notices"),
    "audit_events": ("Audit events", "/admin/audit"),
    "invoice_lines": ("Invoice lines", "/admin/invoices"),
}


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        rows = row_counts(session)
        overdue = len(overdue_notices(session))
    counts = [(label, rows[table], link) for table, (label, link) in COUNTED.items()]
    counts.insert(
        list(COUNTED).index("deletion_notices") + 1,
        ("Overdue deletion notices", overdue, "/admin/notices?status=overdue"),
    )
    return render(request, "dashboard.html", staff, counts=counts)
