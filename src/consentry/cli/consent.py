"""``consentry consent``: record a choice, explain one decision, summarise the ledger."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table
from sqlalchemy import Engine

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly, parse_time
from consentry.domain import consent, consent_bulk
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.errors import NotFound
from consentry.store.consent import now, post_facts, record_consent
from consentry.store.db import session_scope
from consentry.store.models import Post
from consentry.store.parties import get_license, license_facts
from consentry.store.snapshot import consent_inputs

consent_app = typer.Typer(help="The consent ledger.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")


@consent_app.command("record")
@fails_cleanly
def record(
    account: str = typer.Option(..., help="Account id."),
    decision: str = typer.Option(..., help="allow or deny."),
    purpose: str = typer.Option(TRAIN_AI_SYSTEM, help="fideslang data use."),
    collaborator: str = typer.Option(None, help="One collaborator; default all of them."),
    source: str = typer.Option("admin", help="settings, api, gpc, import or admin."),
    effective: str = typer.Option(None, help="Effective time; default now."),
) -> None:
    """Append one consent event to the ledger (events are never changed or deleted)."""
    with session_scope(engine()) as session:
        event = record_consent(
            session,
            account_id=account,
            purpose=purpose,
            decision=decision,
            source=source,
            collaborator_id=collaborator,
            actor=CLI_ACTOR,
            effective_at=parse_time(effective, "--effective") if effective else None,
        )
    console.print(f"recorded event {event.id}: {decision} {purpose} for {account}")


@consent_app.command("check")
@fails_cleanly
def check(
    post: str = typer.Option(..., help="Post id."),
    license: str = typer.Option(..., help="License id."),
    cutoff: str = typer.Option(None, help="Cut-off; default now."),
) -> None:
    """May this post be delivered under this license? With the reason and consent basis."""
    moment = now()
    at = parse_time(cutoff, "--cutoff") if cutoff else moment
    with session_scope(engine()) as session:
        row = session.get(Post, post)
        if row is None:
            raise NotFound("post", post)
        lic = license_facts(get_license(session, license))
        inputs = consent_inputs(
            session.connection(), purpose=lic.purpose, account_ids=[row.account_id]
        )
        verdict = consent.evaluate(
            post_facts(row),
            inputs.account(row.account_id),
            inputs.events_of(row.account_id),
            inputs.reference.policies,
            lic,
            collaborator=inputs.reference.collaborator(lic.collaborator_id),
            cutoff=at,
            as_of=moment,
        )
    outcome = (
        "[green]deliver[/green]" if verdict.allowed else f"[red]exclude[/red] ({verdict.reason})"
    )
    console.print(f"post {post} under {license} at {at.isoformat()}: {outcome}")
    console.print(f"basis: {verdict.basis.describe()}")


@consent_app.command("summary")
@fails_cleanly
def summary(
    purpose: str = typer.Option(TRAIN_AI_SYSTEM, help="fideslang data use."),
    at: str = typer.Option(None, help="Moment to summarise; default now."),
) -> None:
    """Accounts per jurisdiction by consent state (master switch) for one purpose."""
    moment = now()
    when = parse_time(at, "--at") if at else moment
    console.print(summary_table(engine(), purpose, when=when, as_of=moment))


def summary_table(db: Engine, purpose: str, *, when: datetime, as_of: datetime) -> Table:
    """The master switch's state per jurisdiction for one purpose, as a Rich table."""
    snapshot = consent_inputs(db, purpose=purpose).master_snapshot(
        purpose=purpose, cutoff=when, as_of=as_of
    )
    result = consent_bulk.summarize(snapshot)
    table = Table(title=f"Consent for {purpose} at {when:%Y-%m-%d %H:%M} UTC")
    for name in result.column_names:
        table.add_column(name, justify="left" if name == "jurisdiction" else "right")
    for row in result.to_pylist():
        table.add_row(*(str(v) for v in row.values()))
    return table
