"""``consentry collaborator`` and ``consentry license``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly, parse_time
from consentry.errors import InvalidInput
from consentry.revenue.money import check_currency, money, percent_to_bp, to_minor
from consentry.store.db import session_scope
from consentry.store.parties import (
    add_collaborator,
    add_license,
    get_license,
    list_collaborators,
    list_licenses,
    set_collaborator_status,
)

collaborator_app = typer.Typer(help="Collaborators who license data.", no_args_is_help=True)
license_app = typer.Typer(help="License agreements with collaborators.", no_args_is_help=True)
app.add_typer(collaborator_app, name="collaborator")
app.add_typer(license_app, name="license")


@collaborator_app.command("add")
@fails_cleanly
def collaborator_add(
    id: str,
    name: str = typer.Option(..., help="Legal name."),
    country: str = typer.Option(..., help="ISO 3166 alpha-2 country."),
    contact: str = typer.Option("", help="Contact address."),
    dpa_date: str = typer.Option(None, help="Date the data processing agreement was signed."),
    listed_at: str = typer.Option(
        None,
        help="When users are first shown this collaborator (ISO 8601 with zone; default now). "
        "Earlier 'share with all' choices do not cover it, and opt_out defaults only after "
        "the policy's notice period.",
    ),
) -> None:
    """Register a collaborator."""
    listed = parse_time(listed_at, "--listed-at") if listed_at else None
    with session_scope(engine()) as session:
        collaborator = add_collaborator(
            session,
            id=id,
            name=name,
            country=country,
            contact=contact,
            dpa_date=date.fromisoformat(dpa_date) if dpa_date else None,
            listed_at=listed,
            actor=CLI_ACTOR,
        )
        shown = collaborator.listed_at.isoformat()
    console.print(f"added collaborator {id}, listed to users from {shown}")


@collaborator_app.command("status")
@fails_cleanly
def collaborator_status(id: str, status: str) -> None:
    """Set a collaborator's status: active, suspended or terminated."""
    with session_scope(engine()) as session:
        set_collaborator_status(session, id=id, status=status, actor=CLI_ACTOR)
    console.print(f"collaborator {id} is {status}")


@collaborator_app.command("list")
@fails_cleanly
def collaborator_list() -> None:
    """List collaborators."""
    table = Table("id", "name", "country", "status", "DPA", "listed")
    with session_scope(engine()) as session:
        for c in list_collaborators(session):
            table.add_row(
                c.id,
                c.name,
                c.country,
                c.status,
                str(c.dpa_date or ""),
                f"{c.listed_at:%Y-%m-%d %H:%M}",
            )
    console.print(table)


def _json_option(value: str | None, option: str) -> dict:
    if not value:
        return {}
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not JSON: {exc}", field=option) from exc
    if not isinstance(parsed, dict):
        raise InvalidInput("expected a JSON object", field=option)
    return parsed


@license_app.command("add")
@fails_cleanly
def license_add(
    id: str,
    collaborator: str = typer.Option(..., help="Collaborator id."),
    purpose: str = typer.Option("train_ai_system", help="fideslang data use."),
    scope: str = typer.Option(
        None, help='Scope JSON (or @file): {"kinds": ["post"], "languages": ["en"], ...}.'
    ),
    transforms: str = typer.Option(None, help="Transforms JSON (or @file)."),
    term_start: str = typer.Option(..., help="Start of the term (ISO 8601 with zone)."),
    term_end: str = typer.Option(None, help="End of the term."),
    price_model: str = typer.Option(
        "per_record", help="per_record, per_1k_tokens (4 characters a token) or flat."
    ),
    price: str = typer.Option("0", help="Price per unit (or flat fee), e.g. 0.40."),
    currency: str = typer.Option("USD", help="ISO 4217 currency code."),
    creator_share: str = typer.Option(
        "0", help="Percent of each fee shared among the contributing accounts, e.g. 10."
    ),
    deletion_sla_days: int = typer.Option(30, help="Days to honour a deletion notice."),
    description: str = typer.Option("", help="What the license is for, in plain words."),
) -> None:
    """Add a license agreement."""
    with session_scope(engine()) as session:
        add_license(
            session,
            id=id,
            collaborator_id=collaborator,
            purpose=purpose,
            scope=_json_option(scope, "--scope"),
            transforms=_json_option(transforms, "--transforms"),
            term_start=parse_time(term_start, "--term-start"),
            term_end=parse_time(term_end, "--term-end") if term_end else None,
            price_model=price_model,
            price_minor=to_minor(price, check_currency(currency), "--price"),
            currency=currency,
            creator_share_bp=percent_to_bp(creator_share, "--creator-share"),
            deletion_sla_days=deletion_sla_days,
            description=description,
            actor=CLI_ACTOR,
        )
    console.print(f"added license {id}")


@license_app.command("list")
@fails_cleanly
def license_list() -> None:
    """List licenses."""
    table = Table("id", "collaborator", "purpose", "scope", "transforms", "status")
    with session_scope(engine()) as session:
        for lic in list_licenses(session):
            table.add_row(
                lic.id,
                lic.collaborator_id,
                lic.purpose,
                json.dumps(lic.scope),
                json.dumps(lic.transforms),
                lic.status,
            )
    console.print(table)


@license_app.command("show")
@fails_cleanly
def license_show(id: str) -> None:
    """Show one license as JSON."""
    with session_scope(engine()) as session:
        lic = get_license(session, id)
        console.print_json(
            data={
                "id": lic.id,
                "collaborator": lic.collaborator_id,
                "purpose": lic.purpose,
                "scope": lic.scope,
                "fields": lic.fields,
                "transforms": lic.transforms,
                "term_start": lic.term_start.isoformat(),
                "term_end": lic.term_end.isoformat() if lic.term_end else None,
                "price_model": lic.price_model,
                "price_minor": lic.price_minor,
                "price": money(lic.price_minor, lic.currency),
                "currency": lic.currency,
                "creator_share_percent": lic.creator_share_bp / 100,
                "deletion_sla_days": lic.deletion_sla_days,
                "status": lic.status,
            }
        )
