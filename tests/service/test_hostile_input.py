"""Malformed input gets a 4xx in the documented shape, never a 500 in plain text: JSON
``{"detail", "field", "where"}`` on the APIs (the HTML error page on pages), always with the
security headers; and a failure the server did not foresee is a 500 in that same shape. The
OpenAPI document says what the server accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from consentry.store.credentials import create_api_key
from consentry.store.db import session_scope
from consentry.store.models import Post
from service.world import Service, csrf_of, staff_signed_in

pytestmark = pytest.mark.usefixtures("world")
P = "/api/platform"
MOMENT = "2024-12-05T10:00:00Z"
MALFORMED: list[tuple[str, str, Any, str | None]] = [
    # method, path, JSON body, the field the error names (None: the request as a whole)
    ("put", f"{P}/accounts/bob", {"protected": None}, "protected"),
    ("put", f"{P}/accounts/bob", {"handle": "a\u0000b"}, "handle"),
    (
        "put",
        f"{P}/accounts/zz",
        {"handle": "z", "jurisdiction": "DE", "created_at": 5},
        "created_at",
    ),
    (
        "put",
        f"{P}/accounts/zz",
        {"handle": "z", "jurisdiction": "DE", "created_at": "0001-01-01T00:00:00+01:00"},
        "created_at",
    ),
    ("put", f"{P}/posts/bob-1", {"visibility": None}, "visibility"),
    ("put", f"{P}/posts/bob-1", {"text": "x\u0000y"}, "text"),
    ("put", f"{P}/posts/bob-1", {"like_count": 2**40}, "like_count"),
    ("put", f"{P}/posts/bob-1", {"like_count": 2**70}, "like_count"),
    (
        "put",
        f"{P}/posts/new",
        {"account_id": "bob", "created_at": "9999-12-31T23:59:59-05:00"},
        "created_at",
    ),
    ("put", f"{P}/posts/new", {"account_id": "bob", "created_at": MOMENT, "text": 7}, "text"),
    ("post", f"{P}/consent-events", {"account_id": "bob", "decision": None}, "decision"),
    ("post", f"{P}/consent-events", {"account_id": "b\u0000", "decision": "allow"}, "account_id"),
    (
        "post",
        f"{P}/consent-events",
        {"account_id": "bob", "decision": "allow", "purpose": "x"},
        "purpose",
    ),
    ("post", f"{P}/may-share", {"post_id": "bob\u0000", "collaborator_id": "acme"}, "post_id"),
    ("post", f"{P}/may-share", {"post_id": "bob-1", "collaborator_id": None}, "collaborator_id"),
    (
        "post",
        f"{P}/may-share/bulk",
        {"post_ids": ["a\u0000"], "collaborator_id": "acme"},
        "post_ids[0]",
    ),
    ("post", f"{P}/posts/bob-1/deletion", {"deleted_at": 5}, "deleted_at"),
    ("post", f"{P}/posts/bob-1/deletion", {"deleted_at": 1.5e9}, "deleted_at"),
    ("post", f"{P}/accounts/bob/deletion", {"deleted_at": True}, "deleted_at"),
    ("post", f"{P}/posts/bob-1/deletion", [], None),
    ("put", f"{P}/accounts/bob", None, None),
    ("put", f"{P}/accounts/bob", "text", None),
]


def assert_shaped(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.json()
    assert set(body) == {"detail", "field", "where"} and body["detail"]
    assert "Traceback" not in response.text
    return body


def test_every_malformed_body_is_a_shaped_4xx(platform: httpx.Client, engine: Engine) -> None:
    for method, path, body, field in MALFORMED:
        response = platform.request(method, path, json=body)
        assert 400 <= response.status_code < 500, (method, path, body, response.text)
        shaped = assert_shaped(response)
        assert shaped["field"] == field, (path, body, shaped)
        assert shaped["where"] == f"{method.upper()} {path}"
    with session_scope(engine) as session:  # nothing of it was stored
        assert session.get(Post, "bob-1").deleted_at is None
        assert session.get(Post, "new") is None


def test_a_nul_in_a_path_is_refused_not_a_crash(platform: httpx.Client) -> None:
    response = platform.put(f"{P}/posts/a%00b", json={"account_id": "bob", "created_at": MOMENT})
    assert response.status_code == 422
    assert assert_shaped(response)["field"] == "post_id"


def test_a_failure_nobody_foresaw_is_a_500_in_the_same_shape(
    service: Service, engine: Engine, delivered: dict[str, Path]
) -> None:
    (delivered["d-acme-1"] / "manifest.json").unlink()  # the disk lost a file
    with session_scope(engine) as session:
        key = create_api_key(session, collaborator_id="acme", scopes=None, actor="t")[1]
    with service.client(headers={"Authorization": f"Bearer {key}"}) as client:
        response = client.get("/api/collaborator/deliveries/d-acme-1/manifest")
    assert response.status_code == 500
    body = assert_shaped(response)
    assert "internal error" in body["detail"] and "manifest.json" not in body["detail"]


def test_pages_answer_errors_with_the_html_error_page(service: Service) -> None:
    with service.client() as client:
        wrong_method = client.get("/auth/signout")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("text/html")
    assert wrong_method.headers["x-frame-options"] == "DENY"


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize("price", ["nan", "inf", "-inf"])
def test_a_price_that_is_not_a_finite_number_is_refused_on_the_license_form(
    service: Service, price: str
) -> None:
    with staff_signed_in(service, "alice") as alice:
        token = csrf_of(alice.get("/admin/licenses").text)
        response = alice.post(
            "/admin/licenses",
            data={
                "csrf_token": token,
                "id": "lic-nan",
                "collaborator_id": "idle",
                "term_start": "2025-01-01",
                "price": price,
            },
        )
    assert response.status_code == 422 and "finite number" in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_the_openapi_document_says_what_the_server_accepts(service: Service) -> None:
    with service.client() as client:
        document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert (schemes["platformToken"]["type"], schemes["platformToken"]["scheme"]) == (
        "http",
        "bearer",
    )
    assert schemes["collaboratorKey"]["scheme"] == "bearer"
    assert (schemes["userSession"]["in"], schemes["userSession"]["name"]) == (
        "cookie",
        "consentry_user",
    )
    expected = {
        "/api/platform/": "platformToken",
        "/api/signals": "platformToken",
        "/api/collaborator/": "collaboratorKey",
        "/api/me/": "userSession",
    }
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            scheme = next((s for p, s in expected.items() if path.startswith(p)), None)
            want = [{scheme: []}] if scheme else None
            assert op.get("security") == want, f"{method} {path}: {op.get('security')}"
    manifest = document["paths"]["/api/collaborator/deliveries/{delivery_id}/manifest"]["get"]
    content = manifest["responses"]["200"]["content"]
    assert list(content) == ["application/json"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Manifest"}
    schemas = document["components"]["schemas"]
    purpose = schemas["MayShareQuestion"]["properties"]["purpose"]
    assert "train_ai_system" in purpose["enum"] and "anything" not in purpose["enum"]
    deleted_at = schemas["DeletionIn"]["properties"]["deleted_at"]["anyOf"]
    assert {"type": "string", "format": "date-time"} in deleted_at
    assert not any(t.get("type") in ("integer", "number") for t in deleted_at)
    # Found by schemathesis's conformance checks: media types and a status the server answers
    # with but did not declare.
    paths = document["paths"]
    csv = paths["/api/me/shared-records.csv"]["get"]["responses"]["200"]["content"]
    assert list(csv) == ["text/csv"]
    jsonld = paths["/api/me/consent-receipts/{event_id}.jsonld"]["get"]["responses"]["200"]
    assert list(jsonld["content"]) == ["application/ld+json"]
    assert {"200", "201"} <= set(paths["/api/platform/consent-events"]["post"]["responses"])
