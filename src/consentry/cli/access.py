"""Credentials: platform service tokens, collaborators' API keys, staff users, sign-in links."""

from __future__ import annotations

import typer
from rich.table import Table

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly, print_value
from consentry.cli.parties import collaborator_app
from consentry.service.config import service_settings
from consentry.service.security import make_signin_token
from consentry.settings import get_settings
from consentry.store.credentials import (
    SCOPES,
    add_staff_user,
    api_keys_of,
    create_api_key,
    create_platform_token,
    revoke_api_key,
    revoke_platform_token,
    set_staff_password,
    set_staff_role,
)
from consentry.store.db import session_scope

platform_app = typer.Typer(help="The platform's access to the service.", no_args_is_help=True)
token_app = typer.Typer(help="Service tokens of the platform API.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff users of the admin pages.", no_args_is_help=True)
key_app = typer.Typer(help="A collaborator's API keys.", no_args_is_help=True)
app.add_typer(platform_app, name="platform")
platform_app.add_typer(token_app, name="token")
app.add_typer(staff_app, name="staff")
collaborator_app.add_typer(key_app, name="key")


@token_app.command("create")
@fails_cleanly
def token_create(name: str) -> None:
    """Create a service token for the platform's backend; it is shown only now."""
    with session_scope(engine()) as session:
        _, credential = create_platform_token(session, name=name, actor=CLI_ACTOR)
    console.print("Service token (shown once; keep it secret):")
    print_value(credential)


@token_app.command("revoke")
@fails_cleanly
def token_revoke(token_id: str) -> None:
    """Revoke a service token (by the id between the underscores of cpt_<id>_...)."""
    with session_scope(engine()) as session:
        revoke_platform_token(session, token_id=token_id, actor=CLI_ACTOR)
    console.print(f"revoked platform token {token_id}")


@platform_app.command("signin-link")
@fails_cleanly
def signin_link(
    account: str,
    base_url: str = typer.Option("http://127.0.0.1:8000", help="Where the service runs."),
    ttl: int = typer.Option(300, help="Seconds the link stays valid."),
    zone: str = typer.Option(
        None, help="The user's IANA time zone, e.g. Europe/Berlin: their pages show times in it."
    ),
) -> None:
    """Print a one-time sign-in link for an account, as the platform would make it."""
    secret = service_settings(get_settings()).secret("platform_secret")
    try:
        token = make_signin_token(secret, account, ttl_seconds=ttl, zone=zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--zone") from exc
    print_value(f"{base_url.rstrip('/')}/auth/signin?token={token}")


@staff_app.command("add")
@fails_cleanly
def staff_add(
    username: str,
    role: str = typer.Option(..., help="admin (read and write) or viewer (read only)."),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters."
    ),
) -> None:
    """Add a staff user who can sign in to the admin pages."""
    with session_scope(engine()) as session:
        add_staff_user(session, username=username, password=password, role=role, actor=CLI_ACTOR)
    console.print(f"added staff user {username} ({role})")


@staff_app.command("password")
@fails_cleanly
def staff_password(
    username: str,
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters."
    ),
) -> None:
    """Change a staff user's password; their open sessions end."""
    with session_scope(engine()) as session:
        ended = set_staff_password(session, username=username, password=password, actor=CLI_ACTOR)
    console.print(f"changed the password of {username}; {ended} session(s) ended")


@staff_app.command("role")
@fails_cleanly
def staff_role(username: str, role: str = typer.Argument(..., help="admin or viewer.")) -> None:
    """Change a staff user's role; their open sessions end (they sign in again)."""
    with session_scope(engine()) as session:
        ended = set_staff_role(session, username=username, role=role, actor=CLI_ACTOR)
    console.print(f"{username} is now {role}; {ended} session(s) ended")


@key_app.command("create")
@fails_cleanly
def key_create(
    collaborator: str,
    scope: list[str] = typer.Option(
        None, "--scope", help=f"Repeatable; default all of: {', '.join(SCOPES)}."
    ),
) -> None:
    """Create an API key for a collaborator; the key is shown only now."""
    with session_scope(engine()) as session:
        key, credential = create_api_key(
            session, collaborator_id=collaborator, scopes=scope, actor=CLI_ACTOR
        )
        scopes = ", ".join(key.scopes)
    console.print(f"API key for {collaborator} ({scopes}); shown once, keep it secret:")
    print_value(credential)


@key_app.command("revoke")
@fails_cleanly
def key_revoke(key_id: str) -> None:
    """Revoke an API key (by the id between the underscores of cst_<id>_...)."""
    with session_scope(engine()) as session:
        key = revoke_api_key(session, key_id=key_id, actor=CLI_ACTOR)
    console.print(f"revoked key {key_id} of {key.collaborator_id}")


@key_app.command("list")
@fails_cleanly
def key_list(collaborator: str) -> None:
    """List a collaborator's API keys (ids and scopes; secrets are never stored)."""
    table = Table("id", "scopes", "created", "last used", "revoked")
    with session_scope(engine()) as session:
        for key in api_keys_of(session, collaborator_id=collaborator):
            table.add_row(
                key.id,
                ", ".join(key.scopes),
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "",
                f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
            )
    console.print(table)
