"""The transparency report as one self-contained HTML page: served at /transparency and
written as a file by ``consentry transparency export`` (no stylesheet or script to fetch)."""

from __future__ import annotations

from jinja2 import Environment

from consentry.transparency.report import Count, Transparency

TEMPLATE = "transparency.html"


def figure(value: Count) -> str:
    """A published count as people read it: 1,234, or the 'fewer than N' it stands for."""
    return f"{value:,}" if isinstance(value, int) else value


def html(
    report: Transparency,
    env: Environment,
    *,
    is_file: bool,
    json_url: str = "",
    years: list[int] | None = None,
) -> str:
    env.filters.setdefault("figure", figure)
    return env.get_template(TEMPLATE).render(
        report=report, is_file=is_file, json_url=json_url, years=years or []
    )
