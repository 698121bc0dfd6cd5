"""What routes depend on, as ``Annotated`` aliases: the engine, the settings and who is calling.

Callers are the platform (service token), a collaborator (API key with scopes), a signed-in user
(session cookie) or a staff member (staff cookie). Bad credentials count against the client IP.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine, Row
from starlette.concurrency import run_in_threadpool

from consentry.errors import CollaboratorNotActive
from consentry.service.config import ServiceSettings
from consentry.service.propagation import BackgroundPropagator
from consentry.service.security import (
    STAFF_SESSION_SALT,
    USER_SESSION_SALT,
    SessionData,
    csrf_matches,
    read_session_cookie,
)
from consentry.store.credentials import (
    api_key_for,
    get_staff_user,
    platform_token_for,
    record_key_use,
    sha256_hex,
)
from consentry.store.db import session_scope
from consentry.store.parties import get_collaborator

USER_COOKIE = "consentry_user"
STAFF_COOKIE = "consentry_staff"
TOKEN_CACHE_SECONDS = 1.0


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


def _propagator(request: Request) -> BackgroundPropagator:
    propagator: BackgroundPropagator = request.app.state.propagator
    return propagator


EngineDep = Annotated[Engine, Depends(_engine)]
PropagatorDep = Annotated[BackgroundPropagator, Depends(_propagator)]
"""Hand accounts whose consent or content changed to propagation (after the commit)."""
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
        return platform_token_for(conn, credential=credential)


PlatformDep = Annotated[PlatformCaller, Depends(_platform_caller)]


@dataclass(frozen=True)
class CollaboratorCaller:
    collaborator_id: str
    key_id: str
    scopes: tuple[str, ...]
    status: str
    """The collaborator's status when the request came: active, suspended or terminated."""


def collaborator_with(scope: str) -> Callable[..., CollaboratorCaller]:
    """A dependency admitting a collaborator's unrevoked API key that carries ``scope``,
    whatever the collaborator's status (deletion notices stay reachable)."""

    def dependency(request: Request, engine: EngineDep) -> CollaboratorCaller:
        _check_not_limited(request)
        credential = _bearer(request)
        if credential is None:
            raise _refuse(request, "send your API key as 'Authorization: Bearer cst_...'")
        with session_scope(engine) as session:
            key = api_key_for(session, credential=credential)
            if key is None:
                raise _refuse(request, "the API key is wrong or revoked")
            if scope not in key.scopes:
                raise HTTPException(403, f"this API key lacks the scope {scope!r}")
            record_key_use(key, now=datetime.now(UTC))
            status = get_collaborator(session, key.collaborator_id).status
            return CollaboratorCaller(key.collaborator_id, key.id, tuple(key.scopes), status)

    return dependency


def require_active(caller: CollaboratorCaller) -> CollaboratorCaller:
    """Only an active collaborator receives data: a suspended or terminated one keeps nothing
    but its deletion notices (CollaboratorNotActive, 403)."""
    if caller.status != "active":
        raise CollaboratorNotActive(caller.collaborator_id, caller.status)
    return caller


def active_collaborator_with(scope: str) -> Callable[..., CollaboratorCaller]:
    """``collaborator_with(scope)`` for routes that hand out data: the collaborator must be
    active. The status is read on every request, so a suspension takes effect at once."""
    admitted = Depends(collaborator_with(scope))

    def dependency(caller: CollaboratorCaller = admitted) -> CollaboratorCaller:
        return require_active(caller)

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
            user = get_staff_user(session, username=data.subject)
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
