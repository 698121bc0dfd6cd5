"""``consentry verify``: what a collaborator runs on a delivery before trusting it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from consentry.cli.app import app, console, err_console, fails_cleanly
from consentry.errors import InvalidInput
from consentry.pipeline.keys import load_public_key
from consentry.pipeline.manifest import verify_delivery

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
    """Check a delivery's signature, shard hashes, row counts and totals; exit 1 on a problem."""
    trusted = None
    if public_key is not None:
        try:
            pem = public_key.read_bytes()
        except OSError as exc:
            raise InvalidInput(
                f"cannot read the public key ({exc.strerror})", where=str(public_key)
            ) from exc
        trusted = load_public_key(pem, where=str(public_key))
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
