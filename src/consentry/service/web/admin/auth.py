"""Staff sign-in with username and password (Argon2, ``store.passwords``), a server-side staff
session, and sign-out, which ends it.

The sign-in form carries a CSRF token like every other admin form: the form's GET sets a
pre-session cookie with a random id, and the token is that id's HMAC (``csrf_token_for``), so
another site cannot sign a browser in under its own account. Failed sign-ins are audited with
the address and the username tried, never the password. A wrong password counts against the
address, the username, and the pair; only the pair's limit stops the password being checked,
so a right password from an address that others flooded still works, while one address cannot
go on guessing one username.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consentry.service.deps import (
    STAFF_COOKIE,
    EngineDep,
    SettingsDep,
    StaffDep,
    address_of,
    client_ip,
    require_csrf,
)
from consentry.service.limits import CredentialKind, Limited, Place
from consentry.service.security import csrf_matches, csrf_token_for
from consentry.store.credentials import staff_user_for_login
from consentry.store.db import session_scope
from consentry.store.ledger import append_audit_event
from consentry.store.sessions import end_session, open_session

router = APIRouter()
LOGIN_COOKIE = "consentry_login"
LOGIN_FORM_SECONDS = 3600
STAFF = CredentialKind.STAFF_PASSWORD
AUDITED_USERNAME_CHARS = 64
"""Of a failed sign-in, the username tried is audited up to this length (people sometimes type
their password there; a long one is cut)."""


def _login_page(
    request: Request, error: str | None = None, status_code: int = 200, **headers: str
) -> Response:
    """The sign-in form, with a fresh pre-session cookie and its CSRF token."""
    pre_session = secrets.token_urlsafe(24)
    csrf = csrf_token_for(request.app.state.session_secret, pre_session)
    response = request.app.state.templates.TemplateResponse(
        request,
        "admin/login.html",
        {"error": error, "csrf": csrf},
        status_code=status_code,
        headers={"Cache-Control": "no-store", **headers},
    )
    response.set_cookie(
        LOGIN_COOKIE,
        pre_session,
        max_age=LOGIN_FORM_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/admin",
    )
    return response


def _too_many(request: Request, limited: Limited) -> Response:
    return _login_page(
        request,
        f"{limited.message.capitalize()}.",
        429,
        **{"Retry-After": str(limited.retry_after)},
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    pre_session = request.cookies.get(LOGIN_COOKIE)
    expected = csrf_token_for(request.app.state.session_secret, pre_session or "")
    if not pre_session or not csrf_matches(expected, csrf_token):
        return _login_page(
            request,
            "This sign-in form's security token is missing or expired; sign in again here.",
            403,
        )
    limiter = request.app.state.limiter
    pair = Place(
        "username from address", f"{username[:AUDITED_USERNAME_CHARS]} from {client_ip(request)}"
    )
    limited = limiter.limited(STAFF, pair)
    if limited is not None:
        return _too_many(request, limited)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        user = staff_user_for_login(session, username=username, password=password)
        append_audit_event(
            session,
            actor=f"staff:{username}" if user else "anonymous",
            action="staff.signin" if user else "staff.signin_failed",
            object_type="staff_user",
            object_id=username[:AUDITED_USERNAME_CHARS],
            details={"ip": client_ip(request)},
        )
        session_id = None
        if user is not None:
            session_id = open_session(
                session,
                kind="staff",
                subject=username,
                now=now,
                lifetime=timedelta(seconds=settings.session_max_age_seconds),
            )
    if session_id is None:
        limited = limiter.failed(
            STAFF, pair, address_of(request), Place("username", username[:AUDITED_USERNAME_CHARS])
        )
        if limited is not None:
            return _too_many(request, limited)
        return _login_page(request, "Wrong username or password.", 401)
    response = RedirectResponse("/admin", status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    response.set_cookie(
        STAFF_COOKIE,
        session_id,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/admin",
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(
    engine: EngineDep, staff: StaffDep, csrf_token: Annotated[str | None, Form()] = None
) -> Response:
    """End the session (viewers may sign out too: only the token is needed)."""
    require_csrf(staff, csrf_token)
    with session_scope(engine) as session:
        end_session(session, session_id=staff.session_id)
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/admin")
    return response
