"""``consentry audit``: check the hash chains of the consent ledger and the audit log."""

from __future__ import annotations

import typer

from consentry.cli.app import app, console, engine, err_console, fails_cleanly
from consentry.store.db import session_scope
from consentry.store.ledger import verify_audit_chain, verify_consent_chain

audit_app = typer.Typer(help="Audit log and ledger integrity.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@fails_cleanly
def verify() -> None:
    """Recompute both hash chains and name the first broken event, if any."""
    broken = False
    with session_scope(engine()) as session:
        for report in (verify_consent_chain(session), verify_audit_chain(session)):
            if report.ok:
                console.print(f"[green]ok[/green] {report.chain} chain: {report.checked} events")
            else:
                assert report.first_break is not None
                broken = True
                err_console.print(
                    f"[red]BROKEN[/red] {report.chain} chain at event "
                    f"{report.first_break.event_id}: {report.first_break.problem}"
                )
    if broken:
        raise typer.Exit(1)
