"""Send ``notice.issued`` events to collaborators' endpoints, signed the Standard Webhooks way.

``deliver_due_webhooks`` makes every attempt that is due, once: a background thread of the
server calls it every ``webhook_poll_seconds``, and ``consentry notices webhooks --run`` calls
it once. Each attempt is claimed in the database first, so several server workers and the CLI
can run side by side. A failed attempt (no answer, or not 2xx) schedules the next one after
``webhook_retry_seconds`` (0, 5 s, 30 s, 2 min, 10 min: five attempts by default).

Headers: ``webhook-id`` (the same on every retry of one event, so receivers can drop
duplicates), ``webhook-timestamp`` (when this attempt was sent; receivers refuse old ones) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` by ``standardwebhooks``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine
from standardwebhooks import Webhook

from consentry import __version__
from consentry.pipeline.keys import webhook_cipher
from consentry.service.config import service_settings
from consentry.service.notices import notice_event
from consentry.settings import Settings
from consentry.store import notices, webhooks
from consentry.store.db import session_scope

log = logging.getLogger(__name__)


@dataclass
class WebhookRun:
    delivered: int = 0
    failed: int = 0
    """Attempts that failed (each is retried unless it was the last)."""
    given_up: int = 0
    """Events whose last attempt failed."""

    def summary(self) -> str:
        return (
            f"{self.delivered} webhook events delivered, {self.failed} attempts failed "
            f"({self.given_up} events given up)"
        )


def message_id(notice_id: int) -> str:
    return f"msg_notice_issued_{notice_id}"


def deliver_due_webhooks(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> WebhookRun:
    """Make every webhook attempt due at ``now`` (default: the clock); record each outcome."""
    config = service_settings(settings)
    moment = now or datetime.now(UTC)
    schedule = config.webhook_retry_seconds
    run = WebhookRun()
    with session_scope(engine) as session:
        due = webhooks.due_attempts(session, now=moment)
    if not due:
        # Most rounds: the client (its TLS context loads the CA store) and the key would cost
        # tens of ms of CPU in every server process every few seconds, for nothing.
        return run
    cipher = webhook_cipher(config.home)
    with httpx.Client(timeout=config.webhook_timeout_seconds, follow_redirects=False) as client:
        for attempt_id in due:
            with session_scope(engine) as session:
                claimed = webhooks.claim_attempt(session, attempt_id=attempt_id, now=moment)
                if claimed is None:
                    continue  # another sender has it
                secret = webhooks.endpoint_secret(claimed.endpoint, cipher=cipher)
                body = notice_event(session, notices.get_notice(session, claimed.notice_id))
                url = claimed.endpoint.url
            status, error = _send(
                client, url, secret, message_id(claimed.notice_id), body.model_dump_json()
            )
            retry_at = None
            if error is not None:
                run.failed += 1
                if claimed.attempt < len(schedule):
                    retry_at = moment + timedelta(seconds=schedule[claimed.attempt])
                else:
                    run.given_up += 1
            else:
                run.delivered += 1
            with session_scope(engine) as session:
                webhooks.record_attempt(
                    session,
                    attempt_id=attempt_id,
                    status_code=status,
                    error=error,
                    finished_at=datetime.now(UTC),
                    retry_at=retry_at,
                )
    return run


def _send(
    client: httpx.Client, url: str, secret: str, msg_id: str, payload: str
) -> tuple[int | None, str | None]:
    """POST one signed event; (status code, None) on 2xx, else what went wrong."""
    sent = datetime.now(UTC)  # the signed timestamp is the moment of sending, not ``now``
    headers = {
        "content-type": "application/json",
        "user-agent": f"consentry-webhooks/{__version__}",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, payload),
    }
    try:
        response = client.post(url, content=payload.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:500]}"


class WebhookSender:
    """The server's background thread: ``deliver_due_webhooks`` every ``poll_seconds``."""

    def __init__(self, engine: Engine, settings: Settings, poll_seconds: float) -> None:
        self.engine, self.settings, self.poll_seconds = engine, settings, poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhook-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                deliver_due_webhooks(self.engine, self.settings)
            except Exception:  # a bad round must not end the sender; the next one retries
                log.exception("webhook delivery round failed")
            self._stop.wait(self.poll_seconds)
