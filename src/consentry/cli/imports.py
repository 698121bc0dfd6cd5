"""``consentry import``: accounts, posts and consent events from files and account exports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly
from consentry.ingest import import_file, import_mastodon, import_x_archive
from consentry.ingest.fields import KINDS
from consentry.ingest.reference import column_help
from consentry.pipeline.propagate import propagate

import_app = typer.Typer(
    help="Bring accounts, posts and consent events in (all or nothing, idempotent).",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

FORMAT = typer.Option(None, "--format", help="jsonl, csv or parquet; default from the extension.")
QUARANTINE = typer.Option(
    None, "--quarantine", help="Write bad rows here (JSONL, with reasons) and import the rest."
)
JURISDICTION = typer.Option(
    ..., "--jurisdiction", help="ISO 3166 code of the account holder, e.g. DE or US-CA."
)


def _help(kind: str) -> str:
    """The kind's summary, then its columns (from the validator's own; see docs/IMPORT.md)."""
    return f"{KINDS[kind].doc}\n\nColumns:\n\n{column_help(KINDS[kind])}"


def _import(kind: str, file: Path, format: str | None, quarantine: Path | None) -> None:
    report = import_file(
        engine(), kind, file, format=format, quarantine=quarantine, actor=CLI_ACTOR
    )
    console.print(report.summary())
    if report.quarantined:
        console.print(f"[yellow]{report.quarantined} bad rows written to {quarantine}[/yellow]")
    _propagate(report.accounts)


def _propagate(accounts: Sequence[str]) -> None:
    """Judge again what was delivered of the accounts an import touched (DESIGN "After
    delivery"): a withdrawal or deletion in the file reaches the collaborators' copies."""
    if accounts:
        console.print(propagate(engine(), account_ids=accounts, actor=CLI_ACTOR).summary())


@import_app.command("accounts", help=_help("accounts"))
@fails_cleanly
def accounts(
    file: Path = typer.Argument(..., help="JSONL, CSV or Parquet file of accounts."),
    format: str = FORMAT,
    quarantine: Path = QUARANTINE,
) -> None:
    _import("accounts", file, format, quarantine)


@import_app.command("posts", help=_help("posts"))
@fails_cleanly
def posts(
    file: Path = typer.Argument(..., help="JSONL, CSV or Parquet file of posts."),
    format: str = FORMAT,
    quarantine: Path = QUARANTINE,
) -> None:
    _import("posts", file, format, quarantine)


@import_app.command("consent", help=_help("consent"))
@fails_cleanly
def consent(
    file: Path = typer.Argument(..., help="JSONL, CSV or Parquet file of consent events."),
    format: str = FORMAT,
    quarantine: Path = QUARANTINE,
) -> None:
    _import("consent", file, format, quarantine)


@import_app.command("x-archive")
@fails_cleanly
def x_archive(
    path: Path = typer.Argument(..., help="The archive: its .zip or unpacked directory."),
    jurisdiction: str = JURISDICTION,
) -> None:
    """Import an X/Twitter account archive: the account and its tweets."""
    report = import_x_archive(engine(), path, jurisdiction=jurisdiction, actor=CLI_ACTOR)
    console.print(report.summary())
    _propagate(sorted({a for r in report.reports for a in r.accounts}))


@import_app.command("mastodon")
@fails_cleanly
def mastodon(
    path: Path = typer.Argument(..., help="The export: its .zip or unpacked directory."),
    jurisdiction: str = JURISDICTION,
) -> None:
    """Import a Mastodon account export: the account and its posts."""
    report = import_mastodon(engine(), path, jurisdiction=jurisdiction, actor=CLI_ACTOR)
    console.print(report.summary())
    _propagate(sorted({a for r in report.reports for a in r.accounts}))
