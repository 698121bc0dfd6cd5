"""Invoice lines (``/admin/invoices``): one per delivery, how its fee was computed, the
creators' share; as CSV too."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from consentry.domain.revenue import PRICE_MODELS
from consentry.revenue.billing import bill_pending
from consentry.service.deps import AdminDep, EngineDep, SettingsDep, StaffDep
from consentry.service.web.admin.common import back_to, may_write, render
from consentry.store.db import session_scope
from consentry.store.invoices import (
    CSV_COLUMNS,
    earnings_of_delivery,
    get_invoice_line,
    invoice_rows,
    list_invoice_lines,
    unbilled_deliveries,
)

router = APIRouter(prefix="/invoices")


@router.get("", response_class=HTMLResponse)
def invoices(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        lines = list_invoice_lines(session)
        unbilled = unbilled_deliveries(session)
    return render(
        request, "invoices.html", staff, lines=lines, unbilled=unbilled, models=PRICE_MODELS
    )


@router.get(".csv")
def invoices_csv(engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        rows = invoice_rows(session)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="invoices.csv"'},
    )


@router.post("/bill", response_class=HTMLResponse)
def bill(
    engine: EngineDep,
    settings: SettingsDep,
    staff: AdminDep,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    bill_pending(engine, home=settings.home, actor=staff.actor)
    return back_to("/admin/invoices")


@router.get("/{delivery_id}", response_class=HTMLResponse)
def invoice(request: Request, delivery_id: str, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        line, delivery = get_invoice_line(session, delivery_id)
        earnings = earnings_of_delivery(session, delivery_id)
    return render(
        request,
        "invoice.html",
        staff,
        line=line,
        delivery=delivery,
        earnings=earnings,
        model=PRICE_MODELS[line.price_model],
    )
