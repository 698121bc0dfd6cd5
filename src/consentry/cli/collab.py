"""``consentry collab`` (also ``consentry-collab``): what a collaborator runs on its side."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from consentry.cli.app import app, console, err_console, fails_cleanly
from consentry.cli.verify import read_public_key
from consentry.collab.client import CollaboratorApi, read_key
from consentry.collab.sync import SyncReport, sync

collab_app = typer.Typer(
    help="The collaborator's side: a verified local copy that honours deletion notices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(collab_app, name="collab")


@collab_app.callback()
def _group() -> None:
    """The collaborator's side: a verified local copy that honours deletion notices."""
    # A callback keeps `sync` a subcommand when this app runs alone as `consentry-collab`.


@collab_app.command("sync")
@fails_cleanly
def sync_command(
    api: str = typer.Option(..., "--api", help="Base URL of the platform's Consentry service."),
    key_file: Path = typer.Option(
        ..., "--key-file", help="File holding your API key (cst_...) on its first line."
    ),
    directory: Path = typer.Option(
        ..., "--dir", help="Your local copy: one directory per delivery, plus state.json."
    ),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="PEM of the platform's Ed25519 public key; without it the first delivery's key is "
        "pinned in state.json.",
    ),
) -> None:
    """Download new deliveries (verified), apply deletion notices and acknowledge them."""
    trusted = read_public_key(public_key) if public_key is not None else None
    with CollaboratorApi(api, read_key(key_file)) as client:
        report = sync(client, directory, trusted=trusted, say=lambda line: console.print(line))
    _summary(report)
    if report.refused:
        raise typer.Exit(1)


def _summary(report: SyncReport) -> None:
    table = Table(title="consentry collab sync", show_header=False)
    table.add_row("deliveries downloaded", ", ".join(report.downloaded) or "none")
    table.add_row("notices applied", ", ".join(map(str, report.applied)) or "none")
    table.add_row("records removed", f"{report.records_removed} ({report.shards_rewritten} shards)")
    table.add_row("acknowledged", ", ".join(map(str, report.acknowledged)) or "none")
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note[/yellow] {escape(note)}", soft_wrap=True)
    for delivery_id, why in report.refused.items():
        err_console.print(f"[red]refused {delivery_id}:[/red] {escape(why)}", soft_wrap=True)
    if not report.changed:
        console.print("nothing new: the local copy is up to date.")
