"""A report as a file: JSON (the model), CSV (one section's table) or HTML (a page of its own,
the same body the admin page shows, charts as inline SVG)."""

from __future__ import annotations

from typing import Literal

from jinja2 import Environment

from consentry.reports.charts import svg
from consentry.reports.model import Report

Format = Literal["html", "csv", "json"]


def chart_svgs(report: Report) -> dict[str, str]:
    """Each charted section's SVG, by section key."""
    return {
        s.key: svg(s.chart, element_id=f"chart-{report.name}-{s.key}")
        for s in report.sections
        if s.chart is not None
    }


def render(report: Report, format: Format, *, env: Environment, section: str | None = None) -> str:
    if format == "json":
        return report.model_dump_json(indent=2)
    if format == "csv":
        return report.section(section).to_csv()
    page = env.get_template("reports/standalone.html")
    return page.render(report=report, charts=chart_svgs(report))
