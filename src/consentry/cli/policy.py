"""``consentry policy``: policy versions with per-jurisdiction defaults."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly, parse_time
from consentry.errors import InvalidInput
from consentry.store.db import session_scope
from consentry.store.policies import (
    NOTICE_DAYS,
    defaults_of,
    draft_policy,
    get_policy,
    list_policies,
    parse_defaults,
    publish_policy,
)

policy_app = typer.Typer(help="Policy versions and their defaults.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("draft")
@fails_cleanly
def draft(
    version: str,
    summary: str = typer.Option(..., help="Plain-language summary shown to users."),
    purpose: list[str] = typer.Option(
        None,
        "--purpose",
        help="A purpose the version covers, e.g. train_ai_system (repeatable). Purposes named "
        "in --default are covered too; a covered purpose with no default for a jurisdiction "
        "is opt_in there.",
    ),
    default: list[str] = typer.Option(
        None, "--default", help="PURPOSE:JURISDICTION=opt_in|opt_out|never (repeatable)."
    ),
    text_file: Path = typer.Option(
        None,
        "--text-file",
        exists=True,
        dir_okay=False,
        help="The policy in full, as users read it: a Markdown file (UTF-8).",
    ),
    notice_days: int = typer.Option(
        NOTICE_DAYS,
        min=0,
        help="Users are told N days before a newly listed collaborator is covered by an "
        "opt_out default; until then that default does not share with it. Explicit choices "
        "are not delayed.",
    ),
) -> None:
    """Draft a policy version: the purposes it covers and its defaults per jurisdiction."""
    with session_scope(engine()) as session:
        policy = draft_policy(
            session,
            version=version,
            summary=summary,
            purposes=purpose or [],
            defaults=parse_defaults(default or [], field="--default"),
            notice_days=notice_days,
            full_text=_text(text_file) if text_file else "",
            actor=CLI_ACTOR,
        )
        covered = ", ".join(policy.purposes)
    console.print(f"drafted policy {version} ({covered}; notice {notice_days} days)")


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 Markdown",
            field="--text-file",
        ) from exc


@policy_app.command("publish")
@fails_cleanly
def publish(
    version: str,
    effective: str = typer.Option(..., help="When it takes effect (ISO 8601 with zone)."),
    published_at: str = typer.Option(None, help="Publication time; default now."),
) -> None:
    """Publish a drafted version with the date it takes effect."""
    effective_at = parse_time(effective, "--effective")
    published: datetime | None = (
        parse_time(published_at, "--published-at") if published_at else None
    )
    with session_scope(engine()) as session:
        publish_policy(
            session,
            version=version,
            effective_at=effective_at,
            published_at=published,
            actor=CLI_ACTOR,
        )
    console.print(f"published policy {version}, effective {effective_at.isoformat()}")


@policy_app.command("list")
@fails_cleanly
def list_() -> None:
    """List policy versions with their status and dates."""
    table = Table(
        "version", "status", "published", "effective", "purposes", "notice days", "summary"
    )
    with session_scope(engine()) as session:
        for p in list_policies(session):
            table.add_row(
                p.version,
                p.status,
                str(p.published_at or ""),
                str(p.effective_at or ""),
                ", ".join(p.purposes),
                str(p.notice_days),
                p.summary,
            )
    console.print(table)


@policy_app.command("show")
@fails_cleanly
def show(version: str) -> None:
    """Show one version with its defaults per purpose and jurisdiction."""
    with session_scope(engine()) as session:
        policy = get_policy(session, version)
        console.print(f"[bold]{policy.version}[/bold] ({policy.status}) {policy.summary}")
        console.print(f"  covers {', '.join(policy.purposes)}; notice {policy.notice_days} days")
        defaults = defaults_of(session, policy)
        for purpose in policy.purposes:
            by_key = defaults.get(purpose, {})
            if not by_key:
                console.print(f"  {purpose:24} opt_in everywhere (no defaults)")
            for key, value in sorted(by_key.items()):
                console.print(f"  {purpose:24} {key:6} {value}")
