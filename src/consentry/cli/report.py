"""``consentry report``: the staff's reports as HTML (with charts), CSV or JSON."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from consentry.cli.app import app, console, engine, fails_cleanly, parse_time
from consentry.errors import InvalidInput
from consentry.pipeline.manifest import write_atomic
from consentry.reports import REPORTS, build_report
from consentry.reports.params import Params
from consentry.reports.render import render
from consentry.service.web.render import templates

FORMATS = ("html", "csv", "json")


@app.command("report")
@fails_cleanly
def report(
    name: str = typer.Argument(..., help="A report (see `consentry report list`), or list."),
    format: str = typer.Option("html", "--format", help="html, csv or json."),
    section: str = typer.Option(None, help="The table to write as CSV, when there are several."),
    out: Path = typer.Option(None, help="Write to this file (atomically); default stdout."),
    at: str = typer.Option(None, help="As of this time (ISO 8601 with zone); default now."),
    purpose: str = typer.Option(None, help="Purpose (consent report); default train_ai_system."),
    jurisdiction: str = typer.Option(None, help="A jurisdiction or its prefix, e.g. US or US-CA."),
    year: int = typer.Option(None, help="One calendar year (ccpa, payouts)."),
    months: int = typer.Option(24, help="Months back (consent report)."),
) -> None:
    """Write a report; `consentry report list` names them."""
    if name == "list":
        table = Table("report", "what it shows")
        for kind in REPORTS.values():
            table.add_row(kind.name, kind.summary)
        console.print(table)
        return
    if format not in FORMATS:
        raise InvalidInput(
            f"expected one of {', '.join(FORMATS)}, got {format!r}", field="--format"
        )
    if months < 1:
        raise InvalidInput("expected at least 1 month", field="--months")
    params = Params(
        now=parse_time(at, "--at") if at else datetime.now(UTC),
        purpose=purpose,
        jurisdiction=jurisdiction,
        year=year,
        months=months,
    )
    built = build_report(engine(), name, params)
    try:
        text = render(built, format, env=templates().env, section=section)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInput(str(exc), field="--section") from exc
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text.encode("utf-8"))
        console.print(f"wrote {out}")
