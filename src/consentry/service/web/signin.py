"""Signing a user in from the platform's link, and out again.

The platform signs a short-lived token (account, expiry, one-time nonce) with the shared
secret; exchanging it opens a server-side session (``store.sessions``) whose random id goes in
an HttpOnly, SameSite=Lax cookie, and forgets the token from the address bar. Forged, expired
and replayed links are refused with a page that says why; signing out ends the session, so the
old cookie opens nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from consentry.service.deps import (
    USER_COOKIE,
    EngineDep,
    SettingsDep,
    UserDep,
    address_of,
    require_csrf,
)
from consentry.service.limits import CredentialKind
from consentry.service.security import SigninClaims, SigninRefused, read_signin_token
from consentry.store.credentials import spend_signin_nonce
from consentry.store.db import session_scope
from consentry.store.models import Account
from consentry.store.sessions import end_session, open_session

router = APIRouter(include_in_schema=False)
NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@router.get("/auth/signin", response_class=HTMLResponse)
def signin(request: Request, engine: EngineDep, settings: SettingsDep, token: str = "") -> Response:
    """Exchange the platform's signed link for a session on this site. A genuine link works
    from any address; an invalid one counts against the address (429 past the limit)."""
    try:
        if not token:
            raise SigninRefused("This address is not a complete sign-in link.")
        claims = read_signin_token(
            request.app.state.platform_secret,
            token,
            now=datetime.now(UTC),
            max_age_seconds=settings.signin_max_age_seconds,
        )
        session_id = _use_once(engine, claims, settings.session_max_age_seconds)
    except SigninRefused as exc:
        limited = request.app.state.limiter.failed(CredentialKind.SIGNIN_LINK, address_of(request))
        status, headers = 401, NO_REFERRER
        if limited is not None:
            status, headers = 429, {**NO_REFERRER, "Retry-After": str(limited.retry_after)}
        return request.app.state.templates.TemplateResponse(
            request,
            "signin_refused.html",
            {"reason": f"{exc} ({limited.message.capitalize()}.)" if limited else str(exc)},
            status_code=status,
            headers=headers,
        )
    response = RedirectResponse("/me/data-sharing", status_code=303, headers=NO_REFERRER)
    response.set_cookie(
        USER_COOKIE,
        session_id,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


def _use_once(engine: EngineDep, claims: SigninClaims, lifetime_seconds: int) -> str:
    """Spend the link's nonce and open the session (its id); a nonce seen before means the
    link was used before."""
    replayed = SigninRefused("This sign-in link was already used: each link works only once.")
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
            return open_session(
                session,
                kind="user",
                subject=claims.account_id,
                now=now,
                lifetime=timedelta(seconds=lifetime_seconds),
                zone=claims.zone,
            )
    except IntegrityError as exc:  # the same link used twice at the same moment
        raise replayed from exc


@router.post("/auth/signout", response_class=HTMLResponse)
def signout(
    request: Request,
    engine: EngineDep,
    user: UserDep,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """End the session: its row goes, so the cookie opens nothing even if kept."""
    require_csrf(user, csrf_token)
    with session_scope(engine) as session:
        end_session(session, session_id=user.session_id)
    response = request.app.state.templates.TemplateResponse(request, "signed_out.html", {})
    response.delete_cookie(USER_COOKIE)
    return response
