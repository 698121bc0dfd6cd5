"""Why a delivered record was delivered (the consent receipt behind it), for staff; and its
JSON twin. Both come from ``receipts.explain.explain``, as ``consentry explain`` does."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from consentry.receipts.explain import explain
from consentry.service.deps import EngineDep, StaffDep
from consentry.service.web.admin.common import back_to, render
from consentry.store.db import session_scope

router = APIRouter()


@router.get("/deliveries/{delivery_id}/records", response_class=HTMLResponse)
def find_record(delivery_id: str, staff: StaffDep, record: str = "") -> Response:
    """The delivery page's look-up form: go to the record's page."""
    if not record.strip():
        return back_to(f"/admin/deliveries/{quote(delivery_id)}")
    return back_to(f"/admin/deliveries/{quote(delivery_id)}/records/{quote(record.strip())}")


@router.get("/deliveries/{delivery_id}/records/{record}.json")
def record_as_json(
    delivery_id: str, record: str, engine: EngineDep, staff: StaffDep
) -> JSONResponse:
    with session_scope(engine) as session:
        found: dict[str, Any] = explain(session, delivery_id=delivery_id, record=record).as_json()
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


@router.get("/deliveries/{delivery_id}/records/{record}", response_class=HTMLResponse)
def record_page(
    request: Request, delivery_id: str, record: str, engine: EngineDep, staff: StaffDep
) -> Response:
    with session_scope(engine) as session:
        found = explain(session, delivery_id=delivery_id, record=record)
    return render(request, "receipt.html", staff, found=found)
