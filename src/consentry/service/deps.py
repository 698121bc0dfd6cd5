"""What routes depend on, as ``Annotated`` aliases: the engine, the settings and who is calling.

Callers are the platform (service token), a collaborator (API key with scopes), a signed-in user
(session cookie) or a staff member (staff cookie). Each is declared as an OpenAPI security
scheme. A credential is checked first; only an invalid one counts against its kind, its key
prefix and the client's address (``limits.FailureLimiter``), so a valid one always works.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, Row
from starlette.concurrency import run_in_threadpool

from consentry.errors import CollaboratorNotActive
from consentry.service.config import ServiceSettings
from consentry.service.limits import CredentialKind, Place
from consentry.service.propagation import BackgroundPropagator
from consentry.service.security import csrf_matches, csrf_token_for
from consentry.store.credentials import (
    API_KEY_PREFIX,
    PLATFORM_PREFIX,
    api_key_for,
    get_staff_user,
    platform_token_for,
    record_key_use,
    sha256_hex,
    split_credential,
)
from consentry.store.db import session_scope
from consentry.store.parties import get_collaborator
from consentry.store.sessions import live_session

USER_COOKIE = "consentry_user"
STAFF_COOKIE = "consentry_staff"
TOKEN_CACHE_SECONDS = 1.0


async def _engine(request: Request) -> Engine:
    """Async, as every dependency here that does no I/O: FastAPI runs a plain function
    dependency in its threadpool, a hop between threads per request for an attribute read."""
    return request.app.state.engine


async def _settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


async def _propagator(request: Request) -> BackgroundPropagator:
    propagator: BackgroundPropagator = request.app.state.propagator
    return propagator


EngineDep = Annotated[Engine, Depends(_engine)]
PropagatorDep = Annotated[BackgroundPropagator, Depends(_propagator)]
"""Hand accounts whose consent or content changed to propagation (after the commit)."""
SettingsDep = Annotated[ServiceSettings, Depends(_settings)]


def client_ip(request: Request) -> str:
    """The peer's address; behind a configured proxy, the one it forwarded (uvicorn's
    ``ProxyHeadersMiddleware``, installed only for ``CONSENTRY_FORWARDED_ALLOW_IPS``)."""
    return request.client.host if request.client else "unknown"


def address_of(request: Request) -> Place:
    return Place("address", client_ip(request))


def _refuse(
    request: Request, kind: CredentialKind, message: str, credential: str | None, prefix: str
) -> HTTPException:
    """401 for an invalid credential, counted against its kind at the client's address and at
    the presented key's prefix; 429 saying which, once one of them is over the limit."""
    places = [address_of(request)]
    parts = split_credential(prefix, credential or "")
    if parts is not None:
        places.append(Place("key prefix", f"{prefix}_{parts[0]}"))
    limited = request.app.state.limiter.failed(kind, *places)
    if limited is not None:
        return HTTPException(
            429, limited.message, headers={"Retry-After": str(limited.retry_after)}
        )
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


platform_scheme = HTTPBearer(
    scheme_name="platformToken",
    bearerFormat="cpt_<id>_<secret>",
    description="The platform's service token: `consentry platform token create NAME`.",
    auto_error=False,
)
collaborator_scheme = HTTPBearer(
    scheme_name="collaboratorKey",
    bearerFormat="cst_<id>_<secret>",
    description="A collaborator's API key with scopes: `consentry collaborator key create ID`.",
    auto_error=False,
)
Bearer = HTTPAuthorizationCredentials | None


@dataclass(frozen=True)
class PlatformCaller:
    token_id: str
    name: str

    @property
    def actor(self) -> str:
        return f"platform:{self.name}"


async def _platform_caller(
    request: Request, bearer: Annotated[Bearer, Depends(platform_scheme)]
) -> PlatformCaller:
    """The platform's service token, checked against the database at most once a second.

    The checks are cached in the process for ``TOKEN_CACHE_SECONDS``: the hot "may share?"
    path then costs no lookup, and a revoked token stops working within that second.
    """
    credential = bearer.credentials.strip() if bearer else ""
    kind = CredentialKind.PLATFORM_TOKEN
    if not credential:
        raise _refuse(
            request,
            kind,
            "send the platform's service token as 'Authorization: Bearer cpt_...'; "
            "create one with `consentry platform token create NAME`",
            None,
            PLATFORM_PREFIX,
        )
    cache: dict[str, tuple[PlatformCaller, float]] = request.app.state.verified_tokens
    digest = sha256_hex(credential)
    hit = cache.get(digest)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    token = await run_in_threadpool(_lookup_token, request.app.state.reader, credential)
    if token is None:
        cache.pop(digest, None)
        raise _refuse(
            request, kind, "the service token is wrong or revoked", credential, PLATFORM_PREFIX
        )
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

    def dependency(
        request: Request, engine: EngineDep, bearer: Annotated[Bearer, Depends(collaborator_scheme)]
    ) -> CollaboratorCaller:
        credential = bearer.credentials.strip() if bearer else ""
        kind = CredentialKind.COLLABORATOR_KEY
        if not credential:
            raise _refuse(
                request,
                kind,
                "send your API key as 'Authorization: Bearer cst_...'",
                None,
                API_KEY_PREFIX,
            )
        with session_scope(engine) as session:
            key = api_key_for(session, credential=credential)
            if key is None:
                raise _refuse(
                    request, kind, "the API key is wrong or revoked", credential, API_KEY_PREFIX
                )
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


def active_collaborator_with(scope: str) -> Callable[..., Awaitable[CollaboratorCaller]]:
    """``collaborator_with(scope)`` for routes that hand out data: the collaborator must be
    active. The status is read on every request, so a suspension takes effect at once."""
    admitted = Depends(collaborator_with(scope))

    async def dependency(caller: CollaboratorCaller = admitted) -> CollaboratorCaller:
        return require_active(caller)

    return dependency


user_cookie = APIKeyCookie(
    name=USER_COOKIE,
    scheme_name="userSession",
    description="The signed-in user's session, set by following the platform's sign-in link "
    "(`/auth/signin?token=...`).",
    auto_error=False,
)
staff_cookie = APIKeyCookie(name=STAFF_COOKIE, scheme_name="staffSession", auto_error=False)


@dataclass(frozen=True)
class UserSession:
    account_id: str
    session_id: str
    csrf: str
    zone: str | None = None
    """The time zone the sign-in link named (``web.times`` shows times in it)."""


def _user(
    request: Request, engine: EngineDep, session_id: Annotated[str | None, Depends(user_cookie)]
) -> UserSession:
    live = None
    if session_id:
        with session_scope(engine) as session:
            live = live_session(session, kind="user", session_id=session_id, now=datetime.now(UTC))
    if live is None or session_id is None:
        raise HTTPException(
            401,
            "You are not signed in, or your session ended. Open “Data sharing and "
            "personalization” from the app's settings to sign in again.",
        )
    csrf = csrf_token_for(request.app.state.session_secret, session_id)
    return UserSession(live.subject, session_id, csrf, live.zone)


UserDep = Annotated[UserSession, Depends(_user)]


@dataclass(frozen=True)
class StaffSession:
    username: str
    role: str
    session_id: str
    csrf: str

    @property
    def actor(self) -> str:
        return f"staff:{self.username}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _staff(
    request: Request, engine: EngineDep, session_id: Annotated[str | None, Depends(staff_cookie)]
) -> StaffSession:
    username = role = None
    if session_id:
        with session_scope(engine) as session:
            live = live_session(session, kind="staff", session_id=session_id, now=datetime.now(UTC))
            username = live.subject if live else None
            user = get_staff_user(session, username=username) if username else None
            role = user.role if user else None
    if username is None or role is None or session_id is None:
        raise HTTPException(303, "Sign in first.", headers={"Location": "/admin/login"})
    secret = request.app.state.session_secret
    return StaffSession(username, role, session_id, csrf_token_for(secret, session_id))


StaffDep = Annotated[StaffSession, Depends(_staff)]


async def _admin(staff: StaffDep) -> StaffSession:
    """A staff member with the admin role, checked before the form is read: a viewer's change
    is refused (403) whatever it sends."""
    require_admin(staff)
    return staff


AdminDep = Annotated[StaffSession, Depends(_admin)]


def require_csrf(session: UserSession | StaffSession, submitted: str | None) -> None:
    """Forms must carry the session's CSRF token; without it the change is refused (403)."""
    if not csrf_matches(session.csrf, submitted):
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
