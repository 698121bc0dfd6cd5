"""``consentry explain``: why one delivered record was delivered, and whether the ledger
behind that answer is intact."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from consentry.cli.app import app, console, engine, err_console, fails_cleanly
from consentry.receipts.explain import explain as explain_record
from consentry.store.db import session_scope


@app.command("explain")
@fails_cleanly
def explain(
    delivery: str = typer.Option(..., "--delivery", help="Delivery id."),
    record: str = typer.Option(
        ..., "--record", help="The record's pseudonym as delivered (record_id), or the post id."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
) -> None:
    """Why a record is in a delivery: its consent event or policy default, the policy in force
    at the cut-off, the collaborator, and a check of the consent hash chain up to that event.
    Exits 1 when the chain is broken."""
    with session_scope(engine()) as session:
        found = explain_record(session, delivery_id=delivery, record=record)
    if as_json:
        console.print_json(json.dumps(found.as_json()))
    else:
        rows = found.summary()
        for label, value in rows:
            out = err_console if label == "ledger" and not found.chain_intact else console
            out.print(f"[bold]{label:>15}[/bold]  {escape(value)}", highlight=False, soft_wrap=True)
    if not found.chain_intact:
        raise typer.Exit(1)
