"""Signed webhooks for deletion notices, sent over real HTTP to a real receiver on loopback
that verifies each event with ``standardwebhooks``: a failed attempt is logged and retried
after its backoff with the same message id; the last failure gives up; secrets are stored
encrypted; the server's background thread sends events on its own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine, text
from standardwebhooks import Webhook

from consentry.errors import InvalidInput
from consentry.pipeline.keys import WEBHOOK_KEY_FILE, webhook_cipher
from consentry.service.app import create_app
from consentry.service.background import running
from consentry.service.config import ServiceSettings
from consentry.service.webhooks import deliver_due_webhooks
from consentry.store import webhooks
from consentry.store.db import session_scope
from service.notices_world import issue
from service.world import service_settings

pytestmark = pytest.mark.usefixtures("delivered")


@dataclass
class Receiver:
    """A collaborator's endpoint: verifies every event; answers 500 to the first ``fail``."""

    secret: str = ""
    fail: int = 0
    received: list[tuple[dict[str, str], object]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = dict(request.headers)
            try:
                event = Webhook(self.secret).verify(body, headers)
            except Exception as exc:
                self.refused.append(str(exc))
                return Response(status_code=400)
            self.received.append((headers, event))
            if len(self.received) <= self.fail:
                return Response("not today", status_code=500)
            return Response(status_code=204)

        return app


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    with running(hook.app()) as url:
        yield hook, f"{url}/hooks"


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> ServiceSettings:
    return service_settings(tmp_path / "home", engine, webhook_retry_seconds=[0, 5, 30])


def register(engine: Engine, settings: ServiceSettings, url: str) -> str:
    with session_scope(engine) as session:
        _, secret = webhooks.add_endpoint(
            session,
            collaborator_id="acme",
            url=url,
            cipher=webhook_cipher(settings.home),
            actor="test",
        )
    return secret


def log_of(engine: Engine, notice_id: int) -> list[tuple[int, int | None, bool, bool]]:
    """(attempt, status code, has an error, delivered) of each attempt."""
    with session_scope(engine) as session:
        return [
            (a.attempt, a.status_code, a.error is not None, a.delivered_at is not None)
            for a, _ in webhooks.attempts_of(session, notice_id=notice_id)
        ]


def test_a_failed_event_is_logged_and_retried_after_its_backoff_with_a_valid_signature(
    engine: Engine, settings: ServiceSettings, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.secret = register(engine, settings, url)
    hook.fail = 1
    notice_id = issue(engine, "d-acme-1", ["bob-1"])
    start = datetime.now(UTC)

    first = deliver_due_webhooks(engine, settings, start)
    assert (first.delivered, first.failed) == (0, 1)
    assert log_of(engine, notice_id) == [(1, 500, True, False), (2, None, False, False)]
    assert deliver_due_webhooks(engine, settings, start + timedelta(seconds=4)).failed == 0
    assert len(hook.received) == 1  # not due yet: nothing sent

    second = deliver_due_webhooks(engine, settings, start + timedelta(seconds=5))
    assert second.delivered == 1
    assert log_of(engine, notice_id) == [(1, 500, True, False), (2, 204, False, True)]
    assert hook.refused == []
    (h1, _), (h2, event) = hook.received
    assert h1["webhook-id"] == h2["webhook-id"]  # the same event: receivers drop duplicates
    assert h2["webhook-signature"].startswith("v1,")
    assert event["type"] == "notice.issued"
    assert event["data"]["id"] == notice_id
    assert event["data"]["records"] == [
        {"delivery_id": "d-acme-1", "record_id": "r-d-acme-1-bob-1"}
    ]
    with session_scope(engine) as session:
        failed, _ = webhooks.attempts_of(session, notice_id=notice_id)[0]
        assert failed.error == "HTTP 500: not today"
    assert deliver_due_webhooks(engine, settings, start + timedelta(hours=1)).delivered == 0


def test_the_last_failed_attempt_gives_up_and_every_attempt_is_logged(
    engine: Engine, settings: ServiceSettings
) -> None:
    register(engine, settings, "http://127.0.0.1:9/nothing-listens-here")
    notice_id = issue(engine, "d-acme-1")
    start = datetime.now(UTC)
    runs = [
        deliver_due_webhooks(engine, settings, start + timedelta(seconds=s)) for s in (0, 5, 35)
    ]
    assert [(r.failed, r.given_up) for r in runs] == [(1, 0), (1, 0), (1, 1)]
    assert log_of(engine, notice_id) == [(n, None, True, False) for n in (1, 2, 3)]
    with session_scope(engine) as session:
        errors = [a.error for a, _ in webhooks.attempts_of(session, notice_id=notice_id)]
    assert all(e and "ConnectError" in e for e in errors)


def test_an_endpoint_of_another_collaborator_hears_nothing(
    engine: Engine, settings: ServiceSettings, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.secret = register(engine, settings, url)  # acme's
    issue(engine, "d-bolt-1")
    assert deliver_due_webhooks(engine, settings).delivered == 0
    assert hook.received == []


def test_the_signing_secret_is_stored_encrypted_with_a_private_key_file(
    engine: Engine, settings: ServiceSettings
) -> None:
    secret = register(engine, settings, "https://acme.example/hooks")
    assert secret.startswith("whsec_")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_encrypted FROM webhook_endpoints")).scalar_one()
        dumped = json.dumps(
            [list(r) for r in conn.execute(text("SELECT * FROM audit_events"))], default=str
        )
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert secret.removeprefix("whsec_") not in dumped
    key_file = settings.home / "keys" / WEBHOOK_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    with session_scope(engine) as session:
        [endpoint] = webhooks.endpoints_of(session, collaborator_id="acme")
        assert webhooks.endpoint_secret(endpoint, cipher=webhook_cipher(settings.home)) == secret


def test_an_endpoint_url_must_be_http_or_https(engine: Engine, settings: ServiceSettings) -> None:
    with pytest.raises(InvalidInput, match="not an http or https URL"):
        register(engine, settings, "ftp://acme.example/hooks")


def test_the_servers_background_thread_sends_events(
    engine: Engine, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    settings = service_settings(tmp_path / "home", engine, webhook_poll_seconds=0.1)
    hook.secret = register(engine, settings, url)
    app = create_app(settings, engine=engine)
    with running(app, lifespan="on"):
        notice_id = issue(engine, "d-acme-1")
        deadline = time.monotonic() + 15
        while not hook.received and time.monotonic() < deadline:
            time.sleep(0.05)
    app.state.reader.dispose()
    assert [event["data"]["id"] for _, event in hook.received] == [notice_id]  # type: ignore[index]


def test_an_attempt_whose_sender_died_after_claiming_it_is_sent_again(
    engine: Engine, settings: ServiceSettings, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.secret = register(engine, settings, url)
    notice_id = issue(engine, "d-acme-1", ["bob-1"])
    long_ago = datetime.now(UTC) - webhooks.STALE_CLAIM - timedelta(minutes=1)
    with session_scope(engine) as session:  # claimed, then the sender crashed: no outcome
        (attempt_id,) = webhooks.due_attempts(session, now=datetime.now(UTC))
        assert webhooks.claim_attempt(session, attempt_id=attempt_id, now=long_ago)
    deliver_due_webhooks(engine, settings)
    assert len(hook.received) == 1 and not hook.refused
    assert log_of(engine, notice_id) == [(1, 204, False, True)]
