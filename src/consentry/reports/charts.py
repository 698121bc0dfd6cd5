"""Charts as server-rendered SVG: Vega-Lite specs built with Vega-Altair, rendered by
vl-convert, with a ``<title>`` and ``<desc>`` so that a screen reader names and describes them
(the section's table beside the chart is the full text alternative)."""

from __future__ import annotations

import re
from html import escape
from typing import Any

import altair as alt
import vl_convert

from consentry.reports.model import Row

WIDTH = 640


def data(rows: list[Row]) -> alt.Data:
    return alt.Data(values=rows)


def spec(chart: alt.TopLevelMixin, *, title: str, description: str) -> dict[str, Any]:
    """The chart's Vega-Lite spec, titled and described."""
    return chart.properties(title=title, description=description).to_dict()


def bars(
    rows: list[Row],
    *,
    x: str,
    y: str,
    color: str | None = None,
    x_title: str,
    y_title: str,
    title: str,
    description: str,
    x_type: str = "N",
) -> dict[str, Any]:
    """Bars of ``y`` per ``x``, stacked by ``color`` when given."""
    encoding: dict[str, Any] = {
        "x": alt.X(f"{x}:{x_type}", title=x_title),
        "y": alt.Y(f"sum({y}):Q", title=y_title),
        "tooltip": [f"{x}:{x_type}", f"sum({y}):Q"],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=color.replace("_", " "))
    chart = alt.Chart(data(rows)).mark_bar().encode(**encoding).properties(width=WIDTH)
    return spec(chart, title=title, description=description)


def svg(chart_spec: dict[str, Any], *, element_id: str) -> str:
    """The spec as an SVG element, with ``role="img"``, a ``<title>`` and a ``<desc>``. The
    marks get no ARIA roles of their own (Vega's ``aria: false``): the figure is one image,
    described by its title, its description and the table that follows it."""
    quiet = {"aria": False}
    config = {
        **chart_spec.get("config", {}),
        **quiet,
        "mark": quiet,
        "axis": quiet,
        "legend": quiet,
    }
    rendered = vl_convert.vegalite_to_svg({**chart_spec, "config": config})
    title = _text(chart_spec.get("title"))
    description = str(chart_spec.get("description") or "")
    head = re.match(r"<svg\b[^>]*>", rendered)
    if head is None:
        raise ValueError("vl-convert returned no <svg> element")
    opening = head.group(0)[:-1] + (
        f' role="img" aria-labelledby="{element_id}-title" aria-describedby="{element_id}-desc"'
        f' id="{element_id}">'
    )
    accessible = (
        f'<title id="{element_id}-title">{escape(title)}</title>'
        f'<desc id="{element_id}-desc">{escape(description)}</desc>'
    )
    return opening + accessible + rendered[head.end() :]


def _text(title: object) -> str:
    if isinstance(title, dict):
        return str(title.get("text", ""))
    return str(title or "")
