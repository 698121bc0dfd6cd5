"""``consentry transparency export``: the year's public transparency report as one HTML file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from consentry.cli.app import app, console, engine, fails_cleanly
from consentry.pipeline.manifest import write_atomic
from consentry.service.web.render import templates
from consentry.settings import get_settings
from consentry.transparency.page import html
from consentry.transparency.report import transparency_report

transparency_app = typer.Typer(help="The public transparency report.")
app.add_typer(transparency_app, name="transparency")


@transparency_app.command("export")
@fails_cleanly
def export(
    directory: Path = typer.Argument(..., help="Where to write transparency-YEAR.html."),
    year: int = typer.Option(..., "--year", help="The calendar year to report."),
) -> None:
    """Write the year's report as a self-contained HTML file (temp name + rename); counts
    below CONSENTRY_TRANSPARENCY_THRESHOLD read 'fewer than N'."""
    settings = get_settings()
    report = transparency_report(
        engine(),
        year=year,
        now=datetime.now(UTC),
        threshold=settings.transparency_threshold,
        platform=settings.platform_name,
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"transparency-{year}.html"
    write_atomic(path, html(report, templates().env, is_file=True).encode("utf-8"))
    console.print(f"wrote {path}")
