"""The platform API over real HTTP: answers carry the rule's reason and basis, errors name the
field, and single and bulk checks agree."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import Engine, func, select

from consentry.service.api.schemas import MayShareAnswer
from consentry.store.credentials import revoke_platform_token
from consentry.store.db import session_scope
from consentry.store.models import AuditEvent, ConsentEvent

pytestmark = pytest.mark.usefixtures("world")


def ask(platform: httpx.Client, post_id: str, collaborator_id: str = "acme") -> dict:
    response = platform.post(
        "/api/platform/may-share", json={"post_id": post_id, "collaborator_id": collaborator_id}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_single_answer_is_exactly_the_documented_model(platform: httpx.Client) -> None:
    """The route writes its JSON by hand (for speed): it must be ``MayShareAnswer``, no more."""
    for post_id in ("bob-1", "kid-1", "cy-1"):
        answer = ask(platform, post_id)
        assert MayShareAnswer.model_validate(answer).model_dump(mode="json") == answer


def test_a_post_under_an_opt_out_default_may_be_shared_and_says_why(
    platform: httpx.Client,
) -> None:
    answer = ask(platform, "bob-1")
    assert answer["allowed"] is True
    assert answer["reason"] is None
    assert answer["license_id"] == "lic-acme"
    assert answer["basis"] == {"event_id": None, "policy_version": "v1", "default": "opt_out"}


@pytest.mark.parametrize(
    ("post_id", "reason"),
    [
        ("ada-1", "no_consent"),
        ("kid-1", "minor"),
        ("pia-1", "protected"),
        ("bob-dm", "direct_message"),
    ],
)
def test_a_post_that_may_not_be_shared_gets_its_one_reason(
    platform: httpx.Client, post_id: str, reason: str
) -> None:
    answer = ask(platform, post_id)
    assert (answer["allowed"], answer["reason"]) == (False, reason)


def test_a_collaborator_without_an_active_license_gets_no_license(
    platform: httpx.Client,
) -> None:
    answer = ask(platform, "bob-1", collaborator_id="idle")
    assert (answer["allowed"], answer["reason"], answer["license_id"]) == (
        False,
        "no_license",
        None,
    )


def test_a_withdrawal_recorded_through_the_api_counts_at_once(
    platform: httpx.Client, engine: Engine
) -> None:
    recorded = platform.post(
        "/api/platform/consent-events",
        json={"account_id": "bob", "decision": "deny", "external_id": "app-42"},
    )
    assert recorded.status_code == 201, recorded.text
    event = recorded.json()
    assert (event["source"], event["collaborator_id"], event["decision"]) == ("api", None, "deny")

    answer = ask(platform, "bob-1")
    assert (answer["allowed"], answer["reason"]) == (False, "denied")
    assert answer["basis"]["event_id"] == event["id"]
    with session_scope(engine) as session:
        audited = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "consent.record")
        ).one()
        assert audited.actor == "platform:backend"
        assert audited.details["event_id"] == event["id"]


def test_sending_the_same_event_again_returns_it_and_a_different_one_conflicts(
    platform: httpx.Client, engine: Engine
) -> None:
    body = {"account_id": "ada", "decision": "allow", "external_id": "app-7"}
    first = platform.post("/api/platform/consent-events", json=body)
    again = platform.post("/api/platform/consent-events", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]

    clash = platform.post("/api/platform/consent-events", json={**body, "decision": "deny"})
    assert clash.status_code == 409
    assert "app-7" in clash.json()["detail"] and clash.json()["field"] == "decision"
    for other in ({"policy_version": "v9"}, {"effective_at": "2020-01-01T00:00:00Z"}):
        clash = platform.post("/api/platform/consent-events", json={**body, **other})
        assert (clash.status_code, clash.json()["field"]) == (409, next(iter(other)))
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 1


def test_a_time_without_zone_is_refused_naming_the_field(platform: httpx.Client) -> None:
    response = platform.post(
        "/api/platform/consent-events",
        json={"account_id": "ada", "decision": "allow", "effective_at": "2025-01-01T00:00:00"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "effective_at"
    assert "timezone" in body["detail"]
    assert body["where"] == "POST /api/platform/consent-events"


def test_an_unknown_account_is_404_with_a_message(platform: httpx.Client) -> None:
    response = platform.post(
        "/api/platform/consent-events", json={"account_id": "nobody", "decision": "allow"}
    )
    assert response.status_code == 404
    assert "nobody" in response.json()["detail"]


def bulk(platform: httpx.Client, collaborator_id: str, post_ids: list[str]) -> dict:
    response = platform.post(
        "/api/platform/may-share/bulk",
        json={"collaborator_id": collaborator_id, "post_ids": post_ids},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_bulk_answers_agree_with_single_answers_in_order(platform: httpx.Client) -> None:
    platform.post(
        "/api/platform/consent-events",
        json={"account_id": "cy", "decision": "deny", "collaborator_id": "bolt"},
    )
    posts = ["bob-1", "ada-2", "kid-1", "pia-2", "bob-dm", "cy-1", "cy-2", "bob-2", "bob-1"]
    for collaborator_id in ("acme", "bolt", "idle"):
        body = bulk(platform, collaborator_id, posts)
        assert (body["collaborator_id"], body["purpose"]) == (collaborator_id, "train_ai_system")
        columns = body["decisions"]
        assert body["count"] == len(posts) and columns["post_id"] == posts
        assert body["allowed_count"] == sum(columns["allowed"])
        for i, post_id in enumerate(posts):
            single = ask(platform, post_id, collaborator_id)
            assert (columns["allowed"][i], columns["reason"][i], columns["license_id"][i]) == (
                single["allowed"],
                single["reason"],
                single["license_id"],
            ), (collaborator_id, post_id)
            basis = [columns[f"basis_{k}"][i] for k in ("event_id", "policy_version", "default")]
            assert basis == list(single["basis"].values())
    acme, bolt = bulk(platform, "acme", ["cy-1"]), bulk(platform, "bolt", ["cy-1"])
    assert acme["decisions"]["allowed"] == [True]
    assert bolt["decisions"]["reason"] == ["denied"]


def test_bulk_answers_an_unknown_post_without_failing_the_request(
    platform: httpx.Client,
) -> None:
    columns = bulk(platform, "acme", ["bob-1", "gone"])["decisions"]
    assert list(zip(columns["allowed"], columns["reason"], strict=True)) == [
        (True, None),
        (False, "unknown_post"),
    ]


def test_bulk_refuses_an_unknown_collaborator_or_purpose(platform: httpx.Client) -> None:
    nemo = platform.post(
        "/api/platform/may-share/bulk", json={"collaborator_id": "nemo", "post_ids": ["bob-1"]}
    )
    assert nemo.status_code == 404 and "nemo" in nemo.json()["detail"]
    odd = platform.post(
        "/api/platform/may-share/bulk",
        json={"collaborator_id": "acme", "purpose": "astrology", "post_ids": ["bob-1"]},
    )
    assert odd.status_code == 422 and odd.json()["field"] == "purpose"


def test_bulk_refuses_an_empty_or_oversized_list_naming_the_field(
    platform: httpx.Client,
) -> None:
    for post_ids in ([], ["p"] * 50_001):
        response = platform.post(
            "/api/platform/may-share/bulk", json={"collaborator_id": "acme", "post_ids": post_ids}
        )
        assert response.status_code == 422
        assert response.json()["field"] == "post_ids"


def test_a_single_check_of_an_unknown_post_is_404(platform: httpx.Client) -> None:
    response = platform.post(
        "/api/platform/may-share", json={"post_id": "gone", "collaborator_id": "acme"}
    )
    assert response.status_code == 404
    assert "gone" in response.json()["detail"]


def test_an_unknown_field_is_refused_naming_it(platform: httpx.Client) -> None:
    response = platform.post(
        "/api/platform/may-share",
        json={"post_id": "bob-1", "collaborator_id": "acme", "collaborator": "x"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "collaborator"


def test_malformed_json_is_a_400_saying_where(platform: httpx.Client) -> None:
    response = platform.post(
        "/api/platform/may-share",
        content=b'{"post_id": "bob-1", "collaborator_id": }',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("malformed JSON at character")
    assert body["where"] == "POST /api/platform/may-share"


def test_a_body_over_the_limit_is_413_declared_or_streamed(platform: httpx.Client, service) -> None:
    limit = service.settings.max_body_bytes
    post_ids = [f"p{i:08d}" for i in range(limit // 10)]
    payload = json.dumps({"collaborator_id": "acme", "post_ids": post_ids}).encode()
    assert len(payload) > limit
    declared = platform.post(
        "/api/platform/may-share/bulk",
        content=payload,
        headers={"Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert str(limit) in declared.json()["detail"]

    def chunks():  # no Content-Length: the limit must hold while reading
        for start in range(0, len(payload), 65_536):
            yield payload[start : start + 65_536]

    streamed = platform.post(
        "/api/platform/may-share/bulk",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["where"] == "POST /api/platform/may-share/bulk"


def test_without_a_valid_token_the_platform_api_answers_401(service) -> None:
    with service.client() as anonymous:
        missing = anonymous.post(
            "/api/platform/may-share", json={"post_id": "bob-1", "collaborator_id": "acme"}
        )
        wrong = anonymous.post(
            "/api/platform/may-share",
            json={"post_id": "bob-1", "collaborator_id": "acme"},
            headers={"Authorization": "Bearer cpt_abc_wrong"},
        )
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert "consentry platform token create" in missing.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_the_openapi_document_covers_every_api_route(service) -> None:
    with service.client() as client:
        document = client.get("/openapi.json").json()
    app_routes = {
        (method.lower(), route.path)
        for route in service.app.routes
        if getattr(route, "path", "").startswith("/api/")
        for method in getattr(route, "methods", ()) - {"HEAD", "OPTIONS"}
    }
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert app_routes and app_routes <= documented
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            success = next(code for code in op["responses"] if code.startswith("2"))
            content = op["responses"][success].get("content", {})
            assert content, f"{method} {path} documents no response body"
            assert op.get("summary") and op.get("description"), f"{method} {path} undocumented"
            assert "422" in op["responses"] or method == "get", f"{method} {path}"


def test_a_revoked_service_token_stops_working_within_a_second(
    platform: httpx.Client, engine: Engine, platform_token: str
) -> None:
    question = {"post_id": "bob-1", "collaborator_id": "acme"}
    assert platform.post("/api/platform/may-share", json=question).status_code == 200
    with session_scope(engine) as session:
        revoke_platform_token(session, token_id=platform_token.split("_")[1], actor="test")
    time.sleep(1.1)
    response = platform.post("/api/platform/may-share", json=question)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
