"""``consentry verify``: what a collaborator runs on a delivery before trusting it."""

from __future__ import annotations

from pathlib import Path

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.markup import escape

from consentry.cli.app import app, console, err_console, fails_cleanly
from consentry.collab.local import STATE_FILE, verify_local
from consentry.errors import InvalidInput
from consentry.pipeline.keys import load_public_key
from consentry.pipeline.verify import verify_delivery

_MARKS = {
    "ok": "[green]ok[/green]      ",
    "note": "[yellow]note[/yellow]    ",
    "problem": "[red]PROBLEM[/red] ",
}


@app.command("verify")
@fails_cleanly
def verify(
    directory: Path = typer.Argument(..., help="The delivery directory (holds manifest.json)."),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="PEM file of the publisher's Ed25519 public key; without it the key embedded in "
        "the manifest is used, which proves integrity but not who signed.",
    ),
) -> None:
    """Check a delivery's signature, shard hashes, row counts and totals; exit 1 on a problem.

    In a collaborator's local copy (``consentry collab sync``), shards rewritten for deletion
    notices are checked against its ``applied-notices.json`` and explained in a note."""
    trusted = read_public_key(public_key) if public_key is not None else None
    if (directory.parent / STATE_FILE).is_file():
        report = verify_local(directory, trusted)
    else:
        report = verify_delivery(directory, trusted)
    # soft_wrap: long paths stay on one line, so they can be copied
    for check in report.checks:
        out = err_console if check.status == "problem" else console
        out.print(_MARKS[check.status] + escape(check.message), highlight=False, soft_wrap=True)
    where = escape(str(directory))
    if not report.ok:
        err_console.print(
            f"[red]{where}: {len(report.problems)} problem(s) found.[/red]", soft_wrap=True
        )
        raise typer.Exit(1)
    console.print(f"[green]{where}: the delivery is intact.[/green]", soft_wrap=True)


def read_public_key(path: Path) -> Ed25519PublicKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the public key ({exc.strerror})", where=str(path)) from exc
    return load_public_key(pem, where=str(path))
