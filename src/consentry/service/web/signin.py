"""Signing a user in from the platform's link, and out again.

The platform signs a short-lived token (account, expiry, one-time nonce) with the shared
secret; exchanging it sets a signed, HttpOnly, SameSite=Lax session cookie and forgets the
token from the address bar. Forged, expired and replayed links are refused with a page that
says why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from consentry.service.deps import (
    USER_COOKIE,
    EngineDep,
    SettingsDep,
    UserDep,
    client_ip,
    require_csrf,
)
from consentry.service.security import (
    USER_SESSION_SALT,
    SigninClaims,
    SigninRefused,
    make_session_cookie,
    read_signin_token,
)
from consentry.store.credentials import spend_signin_nonce
from consentry.store.db import session_scope
from consentry.store.models import Account

router = APIRouter(include_in_schema=False)
NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@router.get("/auth/signin", response_class=HTMLResponse)
def signin(request: Request, engine: EngineDep, settings: SettingsDep, token: str = "") -> Response:
    """Exchange the platform's signed link for a session on this site."""
    limiter = request.app.state.limiter
    wait = limiter.retry_after(client_ip(request))
    try:
        if wait is not None:
            raise SigninRefused(f"Too many invalid sign-in links from here; wait {wait} s.")
        if not token:
            raise SigninRefused("This sign-in link has no token. Open the settings from the app.")
        claims = read_signin_token(
            request.app.state.platform_secret,
            token,
            now=datetime.now(UTC),
            max_age_seconds=settings.signin_max_age_seconds,
        )
        _use_once(engine, claims)
    except SigninRefused as exc:
        if wait is None:
            limiter.failed(client_ip(request))
        return request.app.state.templates.TemplateResponse(
            request,
            "signin_refused.html",
            {"reason": str(exc)},
            status_code=401,
            headers=NO_REFERRER,
        )
    response = RedirectResponse("/me/data-sharing", status_code=303, headers=NO_REFERRER)
    response.set_cookie(
        USER_COOKIE,
        make_session_cookie(request.app.state.session_secret, USER_SESSION_SALT, claims.account_id),
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


def _use_once(engine: EngineDep, claims: SigninClaims) -> None:
    """Spend the link's nonce; a nonce seen before means the link was used before."""
    replayed = SigninRefused(
        "This sign-in link was already used. Links work once; open the settings from the app "
        "again to get a new one."
    )
    now = datetime.now(UTC)
    try:
        with session_scope(engine) as session:
            if session.get(Account, claims.account_id) is None:
                raise SigninRefused("This sign-in link is for an account this site does not know.")
            if not spend_signin_nonce(
                session,
                nonce=claims.nonce,
                account_id=claims.account_id,
                expires_at=claims.expires_at,
                now=now,
            ):
                raise replayed
    except IntegrityError as exc:  # the same link used twice at the same moment
        raise replayed from exc


@router.post("/auth/signout", response_class=HTMLResponse)
def signout(
    request: Request, user: UserDep, csrf_token: Annotated[str | None, Form()] = None
) -> Response:
    """End the session (the cookie is dropped)."""
    require_csrf(user, csrf_token)
    response = request.app.state.templates.TemplateResponse(request, "signed_out.html", {})
    response.delete_cookie(USER_COOKIE)
    return response
