"""What routes depend on, as ``Annotated`` aliases: the engine, the settings and who is calling.

Callers are the platform (service token), a collaborator (API key with scopes), a signed-in user
(session cookie) or a staff member (staff cookie). Bad credentials count against the client IP.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine, Row
from starlette.concurrency import run_in_threadpool

from consentry.service.config import ServiceSettings
from consentry.service.credentials import api_key_for, platform_token_for
from consentry.service.security import (
    STAFF_SESSION_SALT,
    USER_SESSION_SALT,
    SessionData,
    csrf_matches,
    read_session_cookie,
    sha256_hex,
)
from consentry.store.db import session_scope
from consentry.store.models import StaffUser

USER_COOKIE = "consentry_user"
STAFF_COOKIE = "consentry_staff"
KEY_TOUCH_INTERVAL = timedelta(minutes=1)
TOKEN_CACHE_SECONDS = 1.0


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


EngineDep = Annotated[Engine, Depends(_engine)]
SettingsDep = Annotated[ServiceSettings, Depends(_settings)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _check_not_limited(request: Request) -> None:
    wait = request.app.state.limiter.retry_after(client_ip(request))
    if wait is not None:
        raise HTTPException(
            429,
            f"too many bad credentials from {client_ip(request)}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def _refuse(request: Request, message: str) -> HTTPException:
    request.app.state.limiter.failed(client_ip(request))
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def _bearer(request: Request) -> str | None:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


@dataclass(frozen=True)
class PlatformCaller:
    token_id: str
    name: str

    @property
    def actor(self) -> str:
        return f"platform:{self.name}"


async def _platform_caller(request: Request) -> PlatformCaller:
    """The platform's service token, checked against the database at most once a second.

    The checks are cached in the process for ``TOKEN_CACHE_SECONDS``: the hot "may share?"
    path then costs no lookup, and a revoked token stops working within that second.
    """
    _check_not_limited(request)
    credential = _bearer(request)
    if credential is None:
        raise _refuse(
            request,
            "send the platform's service token as 'Authorization: Bearer cpt_...'; "
            "create one with `consentry platform token create NAME`",
        )
    cache: dict[str, tuple[PlatformCaller, float]] = request.app.state.verified_tokens
    digest = sha256_hex(credential)
    hit = cache.get(digest)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    token = await run_in_threadpool(_lookup_token, request.app.state.reader, credential)
    if token is None:
        cache.pop(digest, None)
        raise _refuse(request, "the service token is wrong or revoked")
    caller = PlatformCaller(token.id, token.name)
    cache[digest] = (caller, time.monotonic() + TOKEN_CACHE_SECONDS)
    return caller


def _lookup_token(reader: Engine, credential: str) -> Row | None:
    with reader.connect() as conn:
        return platform_token_for(conn, credential)


PlatformDep = Annotated[PlatformCaller, Depends(_platform_caller)]


@dataclass(frozen=True)
class CollaboratorCaller:
    collaborator_id: str
    key_id: str
    scopes: tuple[str, ...]


def collaborator_with(scope: str) -> Callable[..., CollaboratorCaller]:
    """A dependency admitting a collaborator's unrevoked API key that carries ``scope``."""

    def dependency(request: Request, engine: EngineDep) -> CollaboratorCaller:
        _check_not_limited(request)
        credential = _bearer(request)
        if credential is None:
            raise _refuse(request, "send your API key as 'Authorization: Bearer cst_...'")
        with session_scope(engine) as session:
            key = api_key_for(session, credential)
            if key is None:
                raise _refuse(request, "the API key is wrong or revoked")
            if scope not in key.scopes:
                raise HTTPException(403, f"this API key lacks the scope {scope!r}")
            now = datetime.now(UTC)
            if key.last_used_at is None or now - key.last_used_at > KEY_TOUCH_INTERVAL:
                key.last_used_at = now
            return CollaboratorCaller(key.collaborator_id, key.id, tuple(key.scopes))

    return dependency


@dataclass(frozen=True)
class UserSession:
    account_id: str
    csrf: str


def _user(request: Request, settings: SettingsDep) -> UserSession:
    data = read_session_cookie(
        request.app.state.session_secret,
        USER_SESSION_SALT,
        request.cookies.get(USER_COOKIE),
        max_age_seconds=settings.session_max_age_seconds,
    )
    if data is None:
        raise HTTPException(
            401,
            "You are not signed in, or your session ended. Open “Data sharing and "
            "personalization” from the app's settings to sign in again.",
        )
    return UserSession(data.subject, data.csrf)


UserDep = Annotated[UserSession, Depends(_user)]


@dataclass(frozen=True)
class StaffSession:
    username: str
    role: str
    csrf: str

    @property
    def actor(self) -> str:
        return f"staff:{self.username}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _staff(request: Request, settings: SettingsDep, engine: EngineDep) -> StaffSession:
    data = read_session_cookie(
        request.app.state.session_secret,
        STAFF_SESSION_SALT,
        request.cookies.get(STAFF_COOKIE),
        max_age_seconds=settings.session_max_age_seconds,
    )
    user = None
    if data is not None:
        with session_scope(engine) as session:
            user = session.get(StaffUser, data.subject)
            role = user.role if user else ""
    if data is None or user is None:
        raise HTTPException(303, "Sign in first.", headers={"Location": "/admin/login"})
    return StaffSession(data.subject, role, data.csrf)


StaffDep = Annotated[StaffSession, Depends(_staff)]


def require_csrf(session: UserSession | StaffSession | SessionData, submitted: str | None) -> None:
    """Forms must carry the session's CSRF token; without it the change is refused (403)."""
    if not csrf_matches(SessionData("", session.csrf), submitted):
        raise HTTPException(
            403,
            "This form's security token is missing or does not match your session. "
            "Reload the page and submit it again.",
        )


def require_admin(staff: StaffSession) -> None:
    if not staff.is_admin:
        raise HTTPException(
            403, f"Your role ({staff.role}) can read but not change anything; ask an admin."
        )
