"""``consentry notices`` (deletion notices: list, show, acknowledge on a collaborator's behalf,
overdue, propagate, send webhooks) and ``consentry collaborator webhook``."""

from __future__ import annotations

from datetime import datetime

import typer
from pydantic import ValidationError
from rich.table import Table

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly, print_value
from consentry.cli.parties import collaborator_app
from consentry.errors import InvalidInput
from consentry.pipeline.keys import webhook_cipher
from consentry.service.notices import Acknowledgement, ShardHash, acknowledge
from consentry.settings import get_settings
from consentry.store import notices, webhooks
from consentry.store.db import session_scope
from consentry.store.models import DeletionNotice

notices_app = typer.Typer(help="Deletion notices sent to collaborators.", no_args_is_help=True)
webhook_app = typer.Typer(
    help="A collaborator's webhook endpoints (signed notice events).", no_args_is_help=True
)
app.add_typer(notices_app, name="notices")
collaborator_app.add_typer(webhook_app, name="webhook")

STATUSES = ("issued", "acknowledged")


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def _table(rows: list[DeletionNotice]) -> Table:
    table = Table("id", "collaborator", "license", "reason", "records", "issued", "due", "status")
    for n in rows:
        table.add_row(
            str(n.id),
            n.collaborator_id,
            n.license_id,
            n.reason,
            str(n.record_count),
            _when(n.issued_at),
            _when(n.due_at),
            f"{n.status} {_when(n.acknowledged_at)}".strip(),
        )
    return table


@notices_app.command("list")
@fails_cleanly
def notices_list(
    collaborator: str = typer.Option(None, help="Only this collaborator's notices."),
    status: str = typer.Option(None, help="issued or acknowledged."),
) -> None:
    """List deletion notices, newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"expected one of {', '.join(STATUSES)}, got {status!r}", field="status")
    with session_scope(engine()) as session:
        rows = notices.list_notices(session, collaborator_id=collaborator, status=status)
    console.print(_table(rows))


@notices_app.command("overdue")
@fails_cleanly
def notices_overdue() -> None:
    """Notices past their due time and not acknowledged, the most overdue first."""
    with session_scope(engine()) as session:
        rows = notices.overdue_notices(session)
    if not rows:
        console.print("no overdue deletion notices")
        return
    console.print(_table(rows))


@notices_app.command("show")
@fails_cleanly
def notices_show(notice_id: int) -> None:
    """One notice: its records (with the platform's ids), acknowledgement and webhook attempts."""
    with session_scope(engine()) as session:
        notice = notices.get_notice(session, notice_id)
        console.print(_table([notice]))
        records = Table("delivery", "record id (pseudonym)", "post", "account")
        for r in notices.records_of(session, notice_id):
            records.add_row(r.delivery_id, r.record_pseudonym, r.post_id, r.account_id)
        console.print(records)
        ack = notice.acknowledgement or {}
        if notice.status == "acknowledged":
            console.print(f"acknowledged {_when(notice.acknowledged_at)} by {ack.get('by', '?')}")
            if ack.get("note"):
                console.print(f"note: {ack['note']}", markup=False)
            for shard in ack.get("shards", []):
                console.print(
                    f"  {shard['delivery_id']}/{shard['name']} sha256 {shard['sha256']}",
                    markup=False,
                )
        attempts = webhooks.attempts_of(session, notice_id=notice_id)
        if attempts:
            log = Table("endpoint", "attempt", "due", "attempted", "status", "error", "delivered")
            for a, endpoint in attempts:
                log.add_row(
                    endpoint.url,
                    str(a.attempt),
                    _when(a.next_attempt_at),
                    _when(a.attempted_at),
                    str(a.status_code or ""),
                    a.error or "",
                    _when(a.delivered_at),
                )
            console.print(log)


def _shard_hash(value: str, index: int) -> ShardHash:
    delivery_id, name, sha256 = [*value.split(":", 2), "", ""][:3]
    try:
        return ShardHash(delivery_id=delivery_id, name=name, sha256=sha256)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise InvalidInput(
            f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}; give each shard as "
            "DELIVERY:NAME:SHA256 (the SHA-256 in 64 hex digits)",
            field=f"--shard {value}",
        ) from exc


@notices_app.command("ack")
@fails_cleanly
def notices_ack(
    notice_id: int,
    note: str = typer.Option(None, help="What the collaborator said (e.g. by email)."),
    shard: list[str] = typer.Option(
        None, "--shard", help="Repeatable DELIVERY:NAME:SHA256 of a shard as rewritten."
    ),
) -> None:
    """Acknowledge a notice on the collaborator's behalf (once; audited as the CLI)."""
    try:
        body = Acknowledgement(
            shards=[_shard_hash(value, i) for i, value in enumerate(shard or [])], note=note
        )
    except ValidationError as exc:
        raise InvalidInput(exc.errors()[0]["msg"], field="--note") from exc
    with session_scope(engine()) as session:
        acknowledge(
            session,
            notice_id=notice_id,
            collaborator_id=None,
            acknowledgement=body,
            actor=CLI_ACTOR,
        )
    console.print(f"deletion notice {notice_id} acknowledged")


@notices_app.command("propagate")
@fails_cleanly
def notices_propagate(
    account: list[str] = typer.Option(
        None, "--account", help="Repeatable; default: every delivered record is judged again."
    ),
) -> None:
    """Judge delivered records again now and issue deletion notices for those no longer allowed."""
    from consentry.pipeline.propagate import propagate

    report = propagate(engine(), account_ids=account or None, actor=CLI_ACTOR)
    console.print(report.summary())


@notices_app.command("webhooks")
@fails_cleanly
def notices_webhooks(
    run: bool = typer.Option(False, "--run", help="Send every due event now, once."),
) -> None:
    """Send due webhook events (the server does this on its own every few seconds)."""
    from consentry.service.webhooks import deliver_due_webhooks

    if not run:
        with session_scope(engine()) as session:
            due = webhooks.due_attempts(session, now=datetime.now().astimezone(), limit=10_000)
        console.print(f"{len(due)} webhook attempts are due; add --run to send them now")
        return
    console.print(deliver_due_webhooks(engine(), get_settings()).summary())


@webhook_app.command("add")
@fails_cleanly
def webhook_add(collaborator: str, url: str) -> None:
    """Register an endpoint for signed notice events; its secret is shown only now."""
    settings = get_settings()
    with session_scope(engine()) as session:
        endpoint, secret = webhooks.add_endpoint(
            session,
            collaborator_id=collaborator,
            url=url,
            cipher=webhook_cipher(settings.home),
            actor=CLI_ACTOR,
            require_https=settings.environment == "production",
        )
        endpoint_id = endpoint.id
    console.print(
        f"webhook endpoint {endpoint_id} for {collaborator}; its signing secret (shown once; "
        "verify events with standardwebhooks.Webhook(secret).verify):"
    )
    print_value(secret)


@webhook_app.command("list")
@fails_cleanly
def webhook_list(collaborator: str) -> None:
    """A collaborator's webhook endpoints (secrets are never shown again)."""
    table = Table("id", "url", "created", "disabled")
    with session_scope(engine()) as session:
        for e in webhooks.endpoints_of(session, collaborator_id=collaborator):
            table.add_row(e.id, e.url, _when(e.created_at), _when(e.disabled_at))
    console.print(table)


@webhook_app.command("disable")
@fails_cleanly
def webhook_disable(endpoint_id: str) -> None:
    """Stop sending events to an endpoint (its delivery log stays)."""
    with session_scope(engine()) as session:
        webhooks.disable_endpoint(session, endpoint_id=endpoint_id, actor=CLI_ACTOR)
    console.print(f"webhook endpoint {endpoint_id} disabled")
