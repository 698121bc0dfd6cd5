"""Server-side sessions of signed-in users and staff: the cookie holds a random id, the table
its SHA-256, so a session ends the moment its row goes (sign-out, password or role change)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consentry.store.models import WebSession

SessionKind = Literal["user", "staff"]


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    subject: str
    """The account id (user) or the staff username."""
    zone: str | None
    """The time zone the sign-in link named (users only), if it named one."""


def open_session(
    session: Session,
    *,
    kind: SessionKind,
    subject: str,
    now: datetime,
    lifetime: timedelta,
    zone: str | None = None,
) -> str:
    """A new session for ``subject``; returns its id (for the cookie, never stored as is).
    Expired sessions are dropped here, so the table holds only live ones."""
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_hash=_id_hash(session_id),
            kind=kind,
            subject=subject,
            created_at=now,
            expires_at=now + lifetime,
            zone=zone,
        )
    )
    return session_id


def live_session(
    session: Session, *, kind: SessionKind, session_id: str, now: datetime
) -> LiveSession | None:
    """Whose the live session ``session_id`` is, or None (unknown, ended or expired)."""
    row = session.execute(
        select(WebSession.subject, WebSession.zone).where(
            WebSession.id_hash == _id_hash(session_id),
            WebSession.kind == kind,
            WebSession.expires_at > now,
        )
    ).first()
    return LiveSession(row.subject, row.zone) if row is not None else None


def end_session(session: Session, *, session_id: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == _id_hash(session_id)))


def end_sessions_of(session: Session, *, kind: SessionKind, subject: str) -> int:
    """End every session of ``subject``; returns how many there were."""
    result = session.execute(
        delete(WebSession).where(WebSession.kind == kind, WebSession.subject == subject)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
