"""The Jinja2 templates and the few filters pages share (dates in UTC or the viewer's zone,
money, plain words)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from consentry.revenue.money import money
from consentry.service.web.times import local_filter

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else ""


def templates() -> Jinja2Templates:
    env = Jinja2Templates(directory=str(TEMPLATES))
    env.env.filters["when"] = _when
    env.env.filters["day"] = _day
    env.env.filters["local"] = local_filter
    env.env.filters["money"] = money
    return env
