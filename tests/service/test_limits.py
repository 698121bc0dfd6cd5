"""Invalid credentials are limited per kind, per presented key prefix and per address; a valid
credential always works, whoever failed before it. Forwarding headers count only from a
configured proxy, for the limiter and the audit log alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from consentry.service.app import create_app
from consentry.service.background import running
from consentry.service.security import make_signin_token
from consentry.store.credentials import create_api_key
from consentry.store.db import session_scope
from consentry.store.models import AuditEvent
from service.world import PLATFORM_SECRET, Service, service_settings, staff_login

pytestmark = pytest.mark.usefixtures("staff")
LIMIT = 10


def new_key(engine: Engine, collaborator_id: str) -> str:
    with session_scope(engine) as session:
        return create_api_key(session, collaborator_id=collaborator_id, scopes=None, actor="t")[1]


@contextmanager
def serving(engine: Engine, home: Path, **overrides: object) -> Iterator[Service]:
    settings = service_settings(home, engine, propagation=False, **overrides)
    app = create_app(settings, engine=engine)
    with running(app) as url:
        yield Service(url, engine, settings, app)
    app.state.reader.dispose()


def bearer(credential: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}", **headers}


def signin_status(client: httpx.Client, account: str) -> int:
    token = make_signin_token(PLATFORM_SECRET, account)
    return client.get("/auth/signin", params={"token": token}).status_code


def test_a_flood_of_bad_keys_from_one_address_leaves_every_valid_credential_working(
    service: Service, engine: Engine, platform_token: str
) -> None:
    good = new_key(engine, "acme")
    with service.client() as client:
        statuses = [
            client.get(
                "/api/collaborator/deliveries", headers=bearer(f"cst_guess{i}_nope")
            ).status_code
            for i in range(LIMIT + 3)
        ]
        limited = client.get("/api/collaborator/deliveries", headers=bearer("cst_more_nope"))
        assert statuses == [401] * LIMIT + [429] * 3
        assert 0 < int(limited.headers["retry-after"]) <= 60
        detail = limited.json()["detail"]
        assert "collaborator API key" in detail and "address 127.0.0.1" in detail
        assert limited.headers["x-frame-options"] == "DENY"
        # The valid key, the platform's token, a staff password and a sign-in link all work
        # from the very address that is limited.
        assert client.get("/api/collaborator/deliveries", headers=bearer(good)).status_code == 200
        question = {"post_id": "bob-1", "collaborator_id": "acme"}
        answer = client.post(
            "/api/platform/may-share", json=question, headers=bearer(platform_token)
        )
        assert answer.status_code == 200
        # Another kind of credential is not limited by these failures: a bad token is a 401.
        wrong = client.post("/api/platform/may-share", json=question, headers=bearer("cpt_x_y"))
        assert wrong.status_code == 401
    with service.client() as browser:
        assert staff_login(browser, "alice").status_code == 303
    with service.client() as browser:
        assert signin_status(browser, "bob") == 303


def test_a_bad_secret_sent_from_many_addresses_is_limited_by_its_key_prefix(
    engine: Engine, tmp_path: Path
) -> None:
    good = new_key(engine, "acme")
    key_id = good.split("_")[1]
    proxied = serving(engine, tmp_path / "home", forwarded_allow_ips="127.0.0.1")
    with proxied as service, service.client() as client:
        statuses = [
            client.get(
                "/api/collaborator/deliveries",
                headers=bearer(f"cst_{key_id}_wrong", **{"X-Forwarded-For": f"10.0.0.{i}"}),
            ).status_code
            for i in range(LIMIT + 2)
        ]
        limited = client.get(
            "/api/collaborator/deliveries",
            headers=bearer(f"cst_{key_id}_wrong", **{"X-Forwarded-For": "10.0.1.1"}),
        )
        valid = client.get("/api/collaborator/deliveries", headers=bearer(good))
    assert statuses == [401] * LIMIT + [429] * 2
    assert f"key prefix cst_{key_id}" in limited.json()["detail"]
    assert valid.status_code == 200


def test_sign_in_links_are_limited_per_address_and_a_genuine_one_still_works(
    service: Service,
) -> None:
    with service.client() as client:
        statuses = [
            client.get("/auth/signin", params={"token": f"forged{i}"}).status_code
            for i in range(LIMIT + 1)
        ]
        limited = client.get("/auth/signin", params={"token": "forged"})
        assert statuses == [401] * LIMIT + [429]
        assert "sign-in link" in limited.text and "address 127.0.0.1" in limited.text
        assert int(limited.headers["retry-after"]) > 0
        assert signin_status(client, "bob") == 303


def audited(engine: Engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_guessing_a_staff_password_stops_that_guess_but_not_other_staff(
    service: Service, engine: Engine
) -> None:
    with service.client() as guesser:
        statuses = [
            staff_login(guesser, "alice", f"guess number {i}").status_code for i in range(LIMIT + 2)
        ]
        assert statuses == [401] * LIMIT + [429] * 2
        # From that address, alice's name is no longer tried at all, even with her password:
        # otherwise the guessing would go on, answered 429 until it hit.
        refused = staff_login(guesser, "alice")
        assert refused.status_code == 429
        assert "username from address alice from 127.0.0.1" in refused.text
        assert staff_login(guesser, "victor").status_code == 303
    failed = audited(engine, "staff.signin_failed")
    assert len(failed) == LIMIT + 1  # every checked attempt; the refused ones were not checked
    assert {(e.object_id, e.details["ip"]) for e in failed} == {("alice", "127.0.0.1")}
    assert all("guess" not in str(e.details) for e in failed)  # never the password


def test_a_forged_forwarded_for_changes_neither_the_limiter_nor_the_audit_log(
    service: Service, engine: Engine
) -> None:
    with service.client() as client:
        statuses = [
            client.get(
                "/api/collaborator/deliveries",
                headers=bearer(f"cst_g{i}_x", **{"X-Forwarded-For": f"203.0.113.{i}"}),
            ).status_code
            for i in range(LIMIT + 1)
        ]
    with service.client(headers={"X-Forwarded-For": "198.51.100.7"}) as forger:
        assert staff_login(forger, "victor").status_code == 303
    assert statuses == [401] * LIMIT + [429]
    assert [e.details["ip"] for e in audited(engine, "staff.signin")] == ["127.0.0.1"]


def test_behind_a_configured_proxy_the_forwarded_address_is_the_clients(
    engine: Engine, tmp_path: Path
) -> None:
    proxied = serving(engine, tmp_path / "home", forwarded_allow_ips="127.0.0.1")
    with proxied as service, service.client(headers={"X-Forwarded-For": "198.51.100.7"}) as c:
        assert staff_login(c, "victor").status_code == 303
    assert [e.details["ip"] for e in audited(engine, "staff.signin")] == ["198.51.100.7"]
