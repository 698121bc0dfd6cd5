"""The reports (``/admin/reports``): each a page with charts and tables, its JSON twin and its
tables as CSV, all from the report's one data function."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from consentry.errors import InvalidInput
from consentry.reports import REPORTS, build_report
from consentry.reports.model import Report
from consentry.reports.params import Params
from consentry.reports.render import chart_svgs
from consentry.service.deps import EngineDep, StaffDep
from consentry.service.web.admin.common import parse_int, render
from consentry.store.db import session_scope
from consentry.store.policies import purpose_keys

router = APIRouter(prefix="/reports")


def _params(request: Request) -> Params:
    """The report's parameters from the query string, refused with the field named."""
    query = request.query_params
    year = query.get("year") or None
    months = query.get("months") or "24"
    parsed_months = parse_int(months, "months")
    if not 1 <= parsed_months <= 120:
        raise InvalidInput("expected 1 to 120 months", field="months")
    return Params(
        now=datetime.now(UTC),
        purpose=query.get("purpose") or None,
        jurisdiction=(query.get("jurisdiction") or "").strip().upper() or None,
        year=parse_int(year, "year") if year else None,
        months=parsed_months,
    )


def _report(request: Request, engine: EngineDep, name: str) -> Report:
    return build_report(engine, name, _params(request))


@router.get("", response_class=HTMLResponse)
def reports(request: Request, staff: StaffDep) -> Response:
    return render(request, "reports.html", staff, reports=list(REPORTS.values()))


@router.get("/{name}.json")
def report_json(request: Request, name: str, engine: EngineDep, staff: StaffDep) -> Response:
    report = _report(request, engine, name)
    return JSONResponse(report.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.get("/{name}.csv")
def report_csv(request: Request, name: str, engine: EngineDep, staff: StaffDep) -> Response:
    report = _report(request, engine, name)
    try:
        section = report.section(request.query_params.get("section"))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="section") from exc
    return Response(
        section.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{section.key}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{name}", response_class=HTMLResponse)
def report_page(request: Request, name: str, engine: EngineDep, staff: StaffDep) -> Response:
    report = _report(request, engine, name)
    with session_scope(engine) as session:
        purposes = purpose_keys(session)
    query = f"?{request.url.query}" if request.url.query else ""
    return render(
        request,
        "report.html",
        staff,
        name=name,
        report=report,
        charts=chart_svgs(report),
        purposes=purposes,
        months=request.query_params.get("months") or "24",
        query=query,
    )
