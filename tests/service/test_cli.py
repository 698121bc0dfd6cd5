"""The service's commands: credentials are shown once and stored hashed; ``serve --get`` answers
one request from the same app ``consentry serve`` runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from consentry.cli import app
from consentry.service.config import service_settings
from consentry.service.security import read_signin_token
from consentry.settings import get_settings
from consentry.store.credentials import api_key_for, platform_token_for, staff_user_for_login
from consentry.store.db import get_engine, session_scope
from consentry.store.models import AuditEvent

runner = CliRunner()


def run(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_collaborators_key_is_shown_once_and_works_until_revoked(consentry_home: Path) -> None:
    run("init")
    run("collaborator", "add", "acme", "--name", "Acme AI", "--country", "US")
    output = run("collaborator", "key", "create", "acme", "--scope", "deliveries:read")
    credential = next(w for w in output.split() if w.startswith("cst_"))
    engine = get_engine(get_settings())
    with session_scope(engine) as session:
        key = api_key_for(session, credential=credential)
        assert key is not None and key.scopes == ["deliveries:read"]
        assert credential.split("_", 2)[2] not in key.secret_hash
    listing = run("collaborator", "key", "list", "acme")
    assert key.id in listing and credential not in listing
    run("collaborator", "key", "revoke", key.id)
    with session_scope(engine) as session:
        assert api_key_for(session, credential=credential) is None
        actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions[-2:] == ["api_key.create", "api_key.revoke"]
    again = runner.invoke(app, ["collaborator", "key", "revoke", key.id])
    assert again.exit_code == 1 and "already revoked" in again.output


def test_an_unknown_scope_is_refused_naming_the_field(consentry_home: Path) -> None:
    run("init")
    run("collaborator", "add", "acme", "--name", "Acme AI", "--country", "US")
    result = runner.invoke(app, ["collaborator", "key", "create", "acme", "--scope", "all"])
    assert result.exit_code == 1
    assert "field 'scopes'" in result.output and "deliveries:read" in result.output


def test_a_platform_token_and_a_staff_user_are_stored_hashed(consentry_home: Path) -> None:
    run("init")
    credential = run("platform", "token", "create", "backend").split()[-1]
    run("staff", "add", "alice", "--role", "admin", input="correct horse battery\n" * 2)
    engine = get_engine(get_settings())
    with session_scope(engine) as session:
        token = platform_token_for(session, credential=credential)
        assert token is not None and token.name == "backend"
        assert (
            staff_user_for_login(session, username="alice", password="correct horse battery").role
            == "admin"
        )
        assert staff_user_for_login(session, username="alice", password="wrong password!!") is None
    short = runner.invoke(app, ["staff", "add", "bob", "--role", "viewer"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output


def test_a_signin_link_carries_a_token_the_service_accepts(consentry_home: Path) -> None:
    output = run("platform", "signin-link", "bob", "--base-url", "http://example.test/")
    url = output.removesuffix("\n")
    assert len(url) > 80 and "\n" not in url and " " not in url  # one line when piped (80 cols)
    assert url.startswith("http://example.test/auth/signin?token=")
    secret = service_settings(get_settings()).secret("platform_secret")
    claims = read_signin_token(
        secret, url.split("token=")[1], now=datetime.now(UTC), max_age_seconds=900
    )
    assert claims.account_id == "bob"
    assert (consentry_home / "keys" / "service-secrets.json").stat().st_mode & 0o077 == 0


def test_serve_get_answers_one_request_from_the_real_app(consentry_home: Path) -> None:
    output = run("serve", "--get", "/api/health")
    assert json.loads(output)["status"] == "ok"


def test_production_refuses_to_start_without_secrets(consentry_home: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONSENTRY_ENVIRONMENT", "production")
    monkeypatch.delenv("CONSENTRY_PLATFORM_SECRET", raising=False)
    get_settings.cache_clear()
    result = runner.invoke(app, ["serve", "--get", "/api/health"])
    assert result.exit_code == 1
    assert "CONSENTRY_PLATFORM_SECRET" in result.output and "production" in result.output
