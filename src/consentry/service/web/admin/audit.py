"""The audit log, newest first, filterable, with a check of both hash chains on request."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consentry.service.deps import EngineDep, StaffDep
from consentry.service.web.admin.common import render
from consentry.store.db import session_scope
from consentry.store.ledger import audit_events, verify_audit_chain, verify_consent_chain

router = APIRouter()
PAGE_SIZE = 100


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    engine: EngineDep,
    staff: StaffDep,
    action: str = "",
    object_id: str = "",
    before: int | None = None,
    verify: bool = False,
) -> Response:
    with session_scope(engine) as session:
        events = audit_events(
            session, action=action, object_id=object_id, before=before, limit=PAGE_SIZE
        )
        reports = [verify_consent_chain(session), verify_audit_chain(session)] if verify else []
    return render(
        request,
        "audit.html",
        staff,
        events=events,
        action=action,
        object_id=object_id,
        reports=reports,
        older=events[-1].id if len(events) == PAGE_SIZE else None,
    )
