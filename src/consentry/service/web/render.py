"""The Jinja2 templates and the few filters pages share (times in the viewer's zone, money,
policy texts in Markdown)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from consentry.revenue.money import money
from consentry.service.web.times import local_filter

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MARKDOWN = MarkdownIt("js-default")
"""CommonMark with tables, raw HTML off (shown as text), links limited to safe schemes."""


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else ""


def markdown(text: str, heading_level: int = 3) -> Markup:
    """``text`` rendered safely, its headings moved down so that ``#`` becomes
    ``<h{heading_level}>`` under the page's own headings."""
    tokens = MARKDOWN.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + heading_level - 1)}"
    return Markup(MARKDOWN.renderer.render(tokens, MARKDOWN.options, {}))


def templates() -> Jinja2Templates:
    env = Jinja2Templates(directory=str(TEMPLATES))
    env.env.filters["when"] = _when
    env.env.filters["day"] = _day
    env.env.filters["local"] = local_filter
    env.env.filters["money"] = money
    env.env.filters["markdown"] = markdown
    return env
