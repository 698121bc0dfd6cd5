"""``consentry report``: the staff's reports as HTML (with charts), CSV or JSON; and
``consentry simulate``: a draft policy's impact before it is published."""

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
from consentry.reports.whatif import read_draft, simulate
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


@app.command("simulate")
@fails_cleanly
def simulate_policy(
    policy: Path = typer.Option(..., "--policy", help="The draft version as YAML (see README)."),
    at: str = typer.Option(
        None, help="Count at this time (ISO 8601 with zone); default the draft's effective time."
    ),
    format: str = typer.Option("table", "--format", help="table, html, csv or json."),
    section: str = typer.Option("licenses", help="The CSV's table: licenses or jurisdictions."),
) -> None:
    """What a draft policy would change: posts and accounts licensable per license and
    jurisdiction, under the draft and under the versions in force."""
    if format not in ("table", *FORMATS):
        raise InvalidInput(f"expected table, html, csv or json, got {format!r}", field="--format")
    draft = read_draft(policy)
    report_ = simulate(engine(), draft, at=parse_time(at, "--at") if at else None)
    if format != "table":
        try:
            text = render(report_, format, env=templates().env, section=section)  # type: ignore[arg-type]
        except ValueError as exc:
            raise InvalidInput(str(exc), field="--section") from exc
        sys.stdout.write(text)
        return
    console.print(report_.description)
    licenses = report_.section("licenses")
    table = Table(*(c.label for c in licenses.columns))
    for row in licenses.rows:
        table.add_row(*(_cell(row.get(c.key), c.kind) for c in licenses.columns))
    console.print(table)


def _cell(value: object, kind: str) -> str:
    if kind == "count" and isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)
