"""Sessions live on the server: signing out, a password change and a role change end them, so
a cookie kept from before opens nothing. Staff passwords are Argon2 (pwdlib); a hash of the
earlier scrypt scheme still signs in and is replaced. The sign-in form has a CSRF token."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from sqlalchemy import Engine, func, select

from consentry.store.credentials import set_staff_password, set_staff_role
from consentry.store.db import session_scope
from consentry.store.models import Collaborator, ConsentEvent, StaffUser
from service.world import STAFF_PASSWORD, Service, csrf_of, sign_in, staff_login, staff_signed_in

pytestmark = pytest.mark.usefixtures("staff")


def _events(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(ConsentEvent)) or 0


def test_after_signing_out_the_old_cookie_cannot_change_consent(
    service: Service, engine: Engine
) -> None:
    with sign_in(service, "bob") as bob:
        token = csrf_of(bob.get("/me/data-sharing").text)
        kept = dict(bob.cookies)
        assert bob.post("/auth/signout", data={"csrf_token": token}).status_code == 200
    with service.client(cookies=kept) as replay:
        change = replay.post(
            "/me/data-sharing",
            data={"decision": "deny", "purpose": "train_ai_system", "csrf_token": token},
        )
        assert change.status_code == 401
        assert replay.get("/api/me/data-sharing").status_code == 401
    assert _events(engine) == 0


def add_collaborator(client: httpx.Client, token: str, cid: str) -> httpx.Response:
    return client.post(
        "/admin/collaborators",
        data={"csrf_token": token, "id": cid, "name": cid, "country": "DE"},
    )


def collaborator(engine: Engine, cid: str) -> Collaborator | None:
    with session_scope(engine) as session:
        return session.get(Collaborator, cid)


def test_after_a_staff_sign_out_the_old_cookie_cannot_add_a_collaborator(
    service: Service, engine: Engine
) -> None:
    with staff_signed_in(service, "alice") as alice:
        token = csrf_of(alice.get("/admin").text)
        kept = dict(alice.cookies)
        assert alice.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    with service.client(cookies=kept) as replay:
        refused = add_collaborator(replay, token, "cora")
    assert (refused.status_code, refused.headers["location"]) == (303, "/admin/login")
    assert collaborator(engine, "cora") is None


@pytest.mark.parametrize("change", ["password", "role"])
def test_a_password_or_role_change_ends_the_staff_members_sessions(
    service: Service, engine: Engine, change: str
) -> None:
    with staff_signed_in(service, "alice") as alice:
        token = csrf_of(alice.get("/admin").text)
        with session_scope(engine) as session:
            if change == "password":
                ended = set_staff_password(
                    session, username="alice", password="another long password", actor="t"
                )
            else:
                ended = set_staff_role(session, username="alice", role="viewer", actor="t")
        assert ended == 1
        refused = add_collaborator(alice, token, "cora")
        assert (refused.status_code, refused.headers["location"]) == (303, "/admin/login")
    assert collaborator(engine, "cora") is None


def test_an_old_scrypt_hash_signs_in_once_and_is_replaced_by_argon2(
    service: Service, engine: Engine
) -> None:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(STAFF_PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    legacy = (
        f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )
    with session_scope(engine) as session:
        session.get(StaffUser, "victor").password_hash = legacy
    with service.client() as client:
        assert staff_login(client, "victor", "not the password").status_code == 401
    with session_scope(engine) as session:
        assert session.get(StaffUser, "victor").password_hash == legacy
    with staff_signed_in(service, "victor"):
        pass
    with session_scope(engine) as session:
        assert session.get(StaffUser, "victor").password_hash.startswith("$argon2id$")
    with staff_signed_in(service, "victor") as victor:
        assert victor.get("/admin").status_code == 200


def test_new_staff_passwords_are_argon2(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert session.get(StaffUser, "alice").password_hash.startswith("$argon2id$")


@pytest.mark.parametrize("token", [None, "forged"], ids=["missing", "forged"])
def test_the_staff_sign_in_form_needs_its_csrf_token(service: Service, token: str | None) -> None:
    with service.client() as client:
        client.get("/admin/login")  # the pre-session cookie alone is not enough
        form = {"username": "alice", "password": STAFF_PASSWORD}
        if token:
            form["csrf_token"] = token
        response = client.post("/admin/login", data=form)
        assert response.status_code == 403 and "security token" in response.text
        assert client.get("/admin").status_code == 303
