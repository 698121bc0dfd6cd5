"""The public transparency report (no sign-in): the page and its JSON twin, one data function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from consentry.service.deps import EngineDep, SettingsDep
from consentry.store.consent import now
from consentry.transparency.page import html
from consentry.transparency.report import Transparency, transparency_report

router = APIRouter(tags=["public"])

YearQuery = Annotated[int | None, Query(description="A calendar year; default this year.")]


async def _report(engine: EngineDep, settings: SettingsDep, year: int | None) -> Transparency:
    moment = now()
    return await run_in_threadpool(
        lambda: transparency_report(
            engine,
            year=year or moment.year,
            now=moment,
            threshold=settings.transparency_threshold,
            platform=settings.platform_name,
        )
    )


@router.get("/transparency.json", response_model=Transparency)
async def transparency_json(
    engine: EngineDep, settings: SettingsDep, year: YearQuery = None
) -> Transparency:
    """The transparency report's figures; counts below the threshold read 'fewer than N'."""
    return await _report(engine, settings, year)


@router.get("/transparency", response_class=HTMLResponse)
async def transparency_page(
    request: Request, engine: EngineDep, settings: SettingsDep, year: YearQuery = None
) -> HTMLResponse:
    """The transparency report as a page anyone can read (no sign-in)."""
    report = await _report(engine, settings, year)
    first = min((int(p.published[:4]) for p in report.policies), default=report.year)
    page = html(
        report,
        request.app.state.templates.env,
        is_file=False,
        json_url=f"/transparency.json?year={report.year}",
        years=list(range(first, report.generated_at.year + 1)),
    )
    return HTMLResponse(page)
