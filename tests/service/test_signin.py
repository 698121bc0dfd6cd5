"""Sign-in links from the platform: genuine ones open a session; forged, expired, overlong and
replayed ones are refused with a page that says why. Forms need the session's CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from consentry.service.security import make_signin_token
from consentry.store.db import session_scope
from consentry.store.models import ConsentEvent
from service.world import PLATFORM_SECRET, Service, csrf_of, sign_in

pytestmark = pytest.mark.usefixtures("world")


def test_a_genuine_link_sets_a_protected_session_cookie_and_forgets_the_token(
    service: Service,
) -> None:
    with service.client() as client:
        response = client.get(
            "/auth/signin", params={"token": make_signin_token(PLATFORM_SECRET, "bob")}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/me/data-sharing"
        assert response.headers["referrer-policy"] == "no-referrer"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        page = client.get("/me/data-sharing")
    assert page.status_code == 200
    assert "Signed in as @bob" in page.text
    # The page with the switches cannot be framed by another site (clickjacking).
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("make_token", "says"),
    [
        (lambda: make_signin_token("another-secret-" + "x" * 32, "bob"), "not genuine"),
        (lambda: make_signin_token(PLATFORM_SECRET, "bob")[:-3] + "abc", "not genuine"),
        (lambda: "not-a-token", "not genuine"),
        (
            lambda: make_signin_token(
                PLATFORM_SECRET, "bob", now=datetime.now(UTC) - timedelta(minutes=10)
            ),
            "expired",
        ),
        (lambda: make_signin_token(PLATFORM_SECRET, "bob", ttl_seconds=86_400), "more than"),
        (lambda: make_signin_token(PLATFORM_SECRET, "nobody"), "does not know"),
    ],
    ids=["other-secret", "tampered", "garbage", "expired", "overlong", "unknown-account"],
)
def test_a_bad_link_is_refused_with_the_reason_and_no_session(
    service: Service, make_token, says: str
) -> None:
    with service.client() as client:
        response = client.get("/auth/signin", params={"token": make_token()})
        assert response.status_code == 401
        assert says in response.text
        assert "set-cookie" not in response.headers
        assert client.get("/me/data-sharing").status_code == 401


def test_a_link_works_once(service: Service) -> None:
    token = make_signin_token(PLATFORM_SECRET, "bob")
    with service.client() as first, service.client() as second:
        assert first.get("/auth/signin", params={"token": token}).status_code == 303
        replay = second.get("/auth/signin", params={"token": token})
    assert replay.status_code == 401
    assert "already used" in replay.text


def test_without_a_session_the_page_asks_to_sign_in_from_the_app(service: Service) -> None:
    with service.client() as client:
        page = client.get("/me/data-sharing")
        api = client.get("/api/me/data-sharing")
    assert page.status_code == 401 and "from the app" in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert api.status_code == 401 and "from the app" in api.json()["detail"]


def _events(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(ConsentEvent)) or 0


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["missing", "wrong"])
def test_a_change_without_the_sessions_csrf_token_is_refused(
    service: Service, engine: Engine, token: str | None
) -> None:
    with sign_in(service, "bob") as client:
        form = {"decision": "deny", "purpose": "train_ai_system"}
        if token:
            form["csrf_token"] = token
        response = client.post("/me/data-sharing", data=form)
    assert response.status_code == 403
    assert "security token" in response.text
    assert _events(engine) == 0


def test_the_csrf_token_of_one_session_does_not_work_in_another(
    service: Service, engine: Engine
) -> None:
    with sign_in(service, "bob") as bob, sign_in(service, "cy") as cy:
        bobs_token = csrf_of(bob.get("/me/data-sharing").text)
        response = cy.post("/me/data-sharing", data={"decision": "deny", "csrf_token": bobs_token})
    assert response.status_code == 403
    assert _events(engine) == 0


def test_signing_out_needs_the_token_and_ends_the_session(service: Service) -> None:
    with sign_in(service, "bob") as client:
        token = csrf_of(client.get("/me/data-sharing").text)
        assert client.post("/auth/signout", data={}).status_code == 403
        assert client.post("/auth/signout", data={"csrf_token": token}).status_code == 200
        assert client.get("/me/data-sharing").status_code == 401
