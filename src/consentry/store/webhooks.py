"""Webhook endpoints and the delivery log of ``notice.issued`` events (Standard Webhooks).

An endpoint's signing secret is needed again at every send, so unlike API keys it cannot be
kept as a hash: it is stored encrypted with a Fernet the caller passes in (its key lives under
``<home>/keys``; ``pipeline.keys.webhook_cipher``). Each attempt is a row; a failed attempt
schedules the next as a new row, so the table is the log staff read. A sender claims a row with
a conditional update before sending, so two senders (server workers, the CLI) never send the
same attempt twice.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from consentry.errors import IntegrityFailure, InvalidInput, NotFound
from consentry.store.ledger import append_audit_event
from consentry.store.models import (
    Collaborator,
    DeletionNotice,
    WebhookDelivery,
    WebhookEndpoint,
)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
ENDPOINT_PREFIX = "whe_"


def _checked_url(url: str, *, require_https: bool) -> str:
    url = url.strip()
    parts = urlsplit(url)
    allowed = ("https",) if require_https else ("http", "https")
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidInput(
            f"{url!r} is not an {' or '.join(allowed)} URL with a host; give the full address "
            "the platform should POST notices to, like https://example.com/consentry/webhooks",
            field="url",
        )
    return url


def add_endpoint(
    session: Session,
    *,
    collaborator_id: str,
    url: str,
    cipher: Fernet,
    actor: str,
    require_https: bool = False,
) -> tuple[WebhookEndpoint, str]:
    """Register ``url`` and return it with its ``whsec_...`` secret, to be shown this once."""
    if session.get(Collaborator, collaborator_id) is None:
        raise NotFound("collaborator", collaborator_id)
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
    endpoint = WebhookEndpoint(
        id=ENDPOINT_PREFIX + secrets.token_hex(8),
        collaborator_id=collaborator_id,
        url=_checked_url(url, require_https=require_https),
        secret_encrypted=cipher.encrypt(secret.encode()).decode("ascii"),
        created_at=datetime.now(UTC),
        disabled_at=None,
    )
    session.add(endpoint)
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="webhook.add",
        object_type="collaborator",
        object_id=collaborator_id,
        details={"endpoint_id": endpoint.id, "url": endpoint.url},
    )
    return endpoint, secret


def disable_endpoint(
    session: Session, *, endpoint_id: str, collaborator_id: str | None = None, actor: str
) -> WebhookEndpoint:
    """Stop sending to an endpoint (its log stays); audited."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or collaborator_id not in (None, endpoint.collaborator_id):
        raise NotFound(
            "webhook endpoint", endpoint_id, listing="consentry collaborator webhook list"
        )
    if endpoint.disabled_at is None:
        endpoint.disabled_at = datetime.now(UTC)
        append_audit_event(
            session,
            actor=actor,
            action="webhook.disable",
            object_type="collaborator",
            object_id=endpoint.collaborator_id,
            details={"endpoint_id": endpoint.id, "url": endpoint.url},
        )
    return endpoint


def endpoints_of(session: Session, *, collaborator_id: str) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.collaborator_id == collaborator_id)
            .order_by(WebhookEndpoint.created_at)
        )
    )


def endpoint_secret(endpoint: WebhookEndpoint, *, cipher: Fernet) -> str:
    """The endpoint's ``whsec_...`` secret, decrypted to sign one event."""
    try:
        return cipher.decrypt(endpoint.secret_encrypted.encode("ascii")).decode()
    except InvalidToken as exc:
        raise IntegrityFailure(
            f"the signing secret of webhook endpoint {endpoint.id} does not decrypt with this "
            "installation's key (keys/webhook-secrets.key or $CONSENTRY_WEBHOOK_SECRETS_KEY); "
            "restore that key, or register the endpoint again "
            f"(`consentry collaborator webhook add {endpoint.collaborator_id} URL`)"
        ) from exc


def enqueue_notice(session: Session, *, notice: DeletionNotice) -> int:
    """A first, due-now attempt for every enabled endpoint of the notice's collaborator."""
    endpoints = session.scalars(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.collaborator_id == notice.collaborator_id,
            WebhookEndpoint.disabled_at.is_(None),
        )
    ).all()
    for endpoint_id in endpoints:
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint_id,
                notice_id=notice.id,
                attempt=1,
                next_attempt_at=notice.issued_at,
            )
        )
    session.flush()
    return len(endpoints)


STALE_CLAIM = timedelta(minutes=10)
"""A claimed attempt with no outcome this long after its claim lost its sender (a crash
between claim and result): it is due again. Far longer than any send's timeout."""


def _open(now: datetime) -> ColumnElement[bool]:
    """Not yet made, or claimed so long ago without an outcome that its sender is gone."""
    stale = and_(
        WebhookDelivery.attempted_at < now - STALE_CLAIM,
        WebhookDelivery.status_code.is_(None),
        WebhookDelivery.error.is_(None),
        WebhookDelivery.delivered_at.is_(None),
    )
    return or_(WebhookDelivery.attempted_at.is_(None), stale)


def due_attempts(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Ids of open attempts whose time has come, oldest first."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(_open(now), WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class ClaimedAttempt:
    id: int
    attempt: int
    notice_id: int
    endpoint: WebhookEndpoint


def claim_attempt(session: Session, *, attempt_id: int, now: datetime) -> ClaimedAttempt | None:
    """Mark the attempt as being made now; None when another sender claimed it first."""
    claimed = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == attempt_id, _open(now))
        .values(attempted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get_one(WebhookDelivery, attempt_id)
    session.refresh(row)
    return ClaimedAttempt(
        row.id, row.attempt, row.notice_id, session.get_one(WebhookEndpoint, row.endpoint_id)
    )


def record_attempt(
    session: Session,
    *,
    attempt_id: int,
    status_code: int | None,
    error: str | None,
    finished_at: datetime,
    retry_at: datetime | None,
) -> WebhookDelivery | None:
    """Write an attempt's outcome; a failure with ``retry_at`` schedules the next attempt,
    which is returned."""
    row = session.get_one(WebhookDelivery, attempt_id)
    row.status_code, row.error = status_code, error
    if error is None:
        row.delivered_at = finished_at
        return None
    if retry_at is None:
        return None
    following = WebhookDelivery(
        endpoint_id=row.endpoint_id,
        notice_id=row.notice_id,
        attempt=row.attempt + 1,
        next_attempt_at=retry_at,
    )
    session.add(following)
    session.flush()
    return following


def attempts_of(
    session: Session, *, notice_id: int
) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
    """Every attempt at delivering this notice, with its endpoint, in order."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.notice_id == notice_id)
        .order_by(WebhookDelivery.endpoint_id, WebhookDelivery.attempt)
    )
    return [(attempt, endpoint) for attempt, endpoint in rows]
