"""Secrets: a full run (seed, keys, export, verify, the server answering users, staff and both
APIs, a withdrawal, propagation, notices, audit) with every output captured: CLI output, the
server's log, HTTP answers (bodies and headers), every file of the delivery and the audit log.
No secret appears in any of them, raw or as hex or base64; only the commands whose purpose is to
show a new credential once print it (those are called in process here).
"""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, select

from consentry.pipeline.keys import webhook_cipher
from consentry.service.security import make_signin_token
from consentry.store.credentials import add_staff_user, create_api_key
from consentry.store.db import session_scope
from consentry.store.models import AuditEvent
from consentry.store.webhooks import add_endpoint
from reliability.harness import (
    LICENSE,
    PLATFORM_SECRET,
    SESSION_SECRET,
    Server,
    cli_env,
    consentry,
    seed_platform,
)

STAFF_PASSWORD = "staff password for the secrets test"


def _forms(secret: bytes) -> set[bytes]:
    """The ways a secret could leak: raw, hex, base64 (standard and URL-safe, padded or not)."""
    forms = {secret, secret.hex().encode(), secret.hex().upper().encode()}
    for encoded in (base64.b64encode(secret), base64.urlsafe_b64encode(secret)):
        forms |= {encoded, encoded.rstrip(b"=")}
    return {f for f in forms if len(f) >= 16}


def _key_files(home: Path) -> dict[str, bytes]:
    keys = home / "keys"
    private = serialization.load_pem_private_key((keys / "signing-ed25519.pem").read_bytes(), None)
    raw = private.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    found = {"signing key (Ed25519, raw)": raw}
    for path in keys.glob("*.key"):
        found[f"key file {path.name}"] = path.read_bytes()
    return found


def _response_text(response: httpx.Response) -> bytes:
    headers = "".join(f"{k}: {v}\n" for k, v in response.headers.items())
    return headers.encode() + response.content


@pytest.mark.slow
def test_no_secret_appears_in_any_output_of_a_full_run(
    tmp_path: Path, figures: dict[str, Any]
) -> None:
    home = tmp_path / "home"
    database_url = f"sqlite:///{tmp_path / 'consentry.db'}"
    token = seed_platform(database_url, home, accounts=200, posts=2_000)
    env = cli_env(home, database_url, CONSENTRY_WEBHOOK_POLL_SECONDS="0.2")
    outputs: dict[str, bytes] = {}

    def run(*args: str) -> str:
        done = consentry(env, *args)
        outputs[f"consentry {' '.join(args)}"] = (done.stdout + done.stderr).encode()
        return done.stdout

    engine = create_engine(database_url)
    with session_scope(engine) as session:  # what shows a new credential once is not grepped
        collaborator_key = create_api_key(
            session, collaborator_id="northwind-ai", scopes=None, actor="test"
        )[1]
        whsec = add_endpoint(
            session,
            collaborator_id="northwind-ai",
            url="http://127.0.0.1:9/hook",
            cipher=webhook_cipher(home),
            actor="test",
        )[1]
        add_staff_user(
            session, username="privacy", password=STAFF_PASSWORD, role="admin", actor="test"
        )
    out = tmp_path / "delivery"
    run("export", "--license", LICENSE, "--out", str(out), "--shard-rows", "256")
    run("verify", str(out))
    platform_token = token
    server_log = home / "server.log"
    with Server(env, server_log) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        answers = []
        platform = {"Authorization": f"Bearer {platform_token}"}
        collaborator = {"Authorization": f"Bearer {collaborator_key}"}
        answers.append(http.get("/api/collaborator/deliveries", headers=collaborator))
        delivery_id = answers[-1].json()[0]["id"]
        answers.append(
            http.get(f"/api/collaborator/deliveries/{delivery_id}/manifest", headers=collaborator)
        )
        answers.append(
            http.get(
                "/api/collaborator/deliveries",
                headers={"Authorization": "Bearer " + collaborator_key[:-3] + "xyz"},
            )
        )
        answers.append(
            http.post(
                "/api/platform/may-share",
                headers={"Authorization": "Bearer " + platform_token + "x"},
                json={},
            )
        )
        member = run("deliveries", "show", delivery_id, "--members").splitlines()[-1]
        account = re.search(r'"account_id":\s*"([^"]+)"', member)
        assert account, member
        answers.append(
            http.post(
                "/api/platform/consent-events",
                headers=platform,
                json={"account_id": account.group(1), "decision": "deny"},
            )
        )
        link = make_signin_token(PLATFORM_SECRET, account.group(1))
        answers.append(http.get("/auth/signin", params={"token": link}))
        answers.append(http.get("/auth/signin", params={"token": link}))  # spent: refused
        answers.append(http.get("/api/me/data-sharing"))
        answers.append(http.get("/api/me/consent-receipts"))
        with httpx.Client(base_url=server.url, timeout=30) as admin:
            answers.append(
                admin.post("/admin/login", data={"username": "privacy", "password": "wrong!"})
            )
            answers.append(
                admin.post("/admin/login", data={"username": "privacy", "password": STAFF_PASSWORD})
            )
            answers.append(admin.get("/admin/audit"))
            answers.append(admin.get("/admin/notices"))
        time.sleep(1.0)  # let the background propagation and the webhook sender run
        for n, response in enumerate(answers):
            outputs[f"HTTP answer {n} {response.request.method} {response.request.url.path}"] = (
                _response_text(response)
            )
    run("notices", "propagate")
    run("audit", "verify")
    outputs["server log"] = server_log.read_bytes()
    for path in sorted(out.rglob("*")):
        if path.is_file():
            outputs[f"delivery file {path.name}"] = path.read_bytes()
    with session_scope(engine) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        outputs["audit log"] = "\n".join(
            repr({c.name: getattr(row, c.name) for c in AuditEvent.__table__.columns})
            for row in rows
        ).encode()
    engine.dispose()

    secrets = {
        "platform secret (sign-in links)": PLATFORM_SECRET.encode(),
        "session secret": SESSION_SECRET.encode(),
        "platform token": platform_token.encode(),
        "platform token's secret part": platform_token.rsplit("_", 1)[-1].encode(),
        "collaborator key": collaborator_key.encode(),
        "collaborator key's secret part": collaborator_key.rsplit("_", 1)[-1].encode(),
        "webhook signing secret": whsec.encode(),
        "sign-in link": link.encode(),
        "staff password": STAFF_PASSWORD.encode(),
        **_key_files(home),
    }
    leaks = [
        f"{name} in {where}"
        for name, secret in secrets.items()
        for where, text in outputs.items()
        if any(form in text for form in _forms(secret))
    ]
    figures.update(
        outputs_checked=len(outputs),
        bytes_checked=sum(len(t) for t in outputs.values()),
        secrets=sorted(secrets),
        leaks=leaks,
    )
    assert not leaks, "\n".join(leaks)
