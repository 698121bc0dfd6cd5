"""Staff sign-in with username and password (scrypt), a signed staff cookie, and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consentry.service.deps import (
    STAFF_COOKIE,
    EngineDep,
    SettingsDep,
    StaffDep,
    client_ip,
    require_csrf,
)
from consentry.service.security import STAFF_SESSION_SALT, make_session_cookie
from consentry.store.credentials import staff_user_for_login
from consentry.store.db import session_scope
from consentry.store.ledger import append_audit_event

router = APIRouter()


def _login_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "admin/login.html", {"error": error}, status_code=status_code
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
) -> Response:
    limiter = request.app.state.limiter
    wait = limiter.retry_after(client_ip(request))
    if wait is not None:
        return _login_page(request, f"Too many failed sign-ins; wait {wait} s.", 429)
    with session_scope(engine) as session:
        user = staff_user_for_login(session, username=username, password=password)
        if user is not None:
            append_audit_event(
                session,
                actor=f"staff:{username}",
                action="staff.signin",
                object_type="staff_user",
                object_id=username,
                details={"ip": client_ip(request)},
            )
    if user is None:
        limiter.failed(client_ip(request))
        return _login_page(request, "Wrong username or password.", 401)
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(
        STAFF_COOKIE,
        make_session_cookie(request.app.state.session_secret, STAFF_SESSION_SALT, username),
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/admin",
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(staff: StaffDep, csrf_token: Annotated[str | None, Form()] = None) -> Response:
    require_csrf(staff, csrf_token)  # viewers may sign out too: only the token is needed
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/admin")
    return response
