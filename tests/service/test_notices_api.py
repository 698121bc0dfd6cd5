"""Deletion notices over the collaborator API, real HTTP on a real database: a feed after a
cursor, one notice, the acknowledgement with shard hashes (once, audited); another
collaborator's notices are 404; scopes hold; a suspended or terminated collaborator still reads
and acknowledges its notices but gets no deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from consentry.pipeline.propagate import propagate
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.ledger import audit_events
from consentry.store.parties import set_collaborator_status
from service.notices_world import issue, new_key
from service.world import Service

pytestmark = pytest.mark.usefixtures("delivered")

SHA = "ab" * 32


@pytest.fixture
def acme(service: Service, engine: Engine) -> Iterator[httpx.Client]:
    key = new_key(engine, "acme")
    with service.client(headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def test_the_feed_returns_own_notices_after_the_cursor_oldest_first(
    acme: httpx.Client, engine: Engine
) -> None:
    first = issue(engine, "d-acme-1", ["bob-1"])
    issue(engine, "d-bolt-1")  # bolt's: never in acme's feed
    second = issue(engine, "d-acme-1", ["bob-2", "cy-1"])
    page = acme.get("/api/collaborator/notices").json()
    assert [n["id"] for n in page["notices"]] == [first, second]
    assert page["next_cursor"] == second
    notice = page["notices"][0]
    assert notice["records"] == [{"delivery_id": "d-acme-1", "record_id": "r-d-acme-1-bob-1"}]
    assert set(notice) == {
        "id", "reason", "license_id", "issued_at", "due_at", "status", "acknowledged_at",
        "record_count", "records",
    }  # fmt: skip
    assert (notice["status"], notice["reason"], notice["license_id"]) == (
        "issued", "consent_withdrawn", "lic-acme",
    )  # fmt: skip
    assert all(set(r) == {"delivery_id", "record_id"} for r in notice["records"])  # pseudonyms
    one = acme.get("/api/collaborator/notices", params={"limit": 1}).json()
    assert ([n["id"] for n in one["notices"]], one["next_cursor"]) == ([first], first)
    rest = acme.get("/api/collaborator/notices", params={"after": first}).json()
    assert [n["id"] for n in rest["notices"]] == [second]
    empty = acme.get("/api/collaborator/notices", params={"after": second}).json()
    assert empty == {"notices": [], "next_cursor": second}


def test_bad_feed_parameters_are_422_naming_the_field(acme: httpx.Client) -> None:
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"after": -1}, "after"),
        ({"after": 2**100}, "after"),  # found by schemathesis: was a 500 (integer overflow)
    ):
        response = acme.get("/api/collaborator/notices", params=params)
        assert response.status_code == 422
        assert response.json()["field"] == field


def test_a_notice_number_too_large_for_the_database_is_422(acme: httpx.Client) -> None:
    for path in (f"/api/collaborator/notices/{2**64}", f"/api/collaborator/notices/{2**64}/ack"):
        answer = acme.post(path, json={"shards": []}) if path.endswith("ack") else acme.get(path)
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "notice_id"


def test_a_withdrawal_propagates_to_a_notice_in_the_feed(
    acme: httpx.Client, engine: Engine
) -> None:
    with session_scope(engine) as session:
        record_consent(
            session,
            account_id="bob",
            purpose="train_ai_system",
            decision="deny",
            source="settings",
            actor="user:bob",
        )
    report = propagate(engine, account_ids=["bob"])
    assert len(report.notices) == 1
    [notice] = acme.get("/api/collaborator/notices").json()["notices"]
    assert notice["reason"] == "consent_withdrawn"
    assert sorted(r["record_id"] for r in notice["records"]) == [
        "r-d-acme-1-bob-1",
        "r-d-acme-1-bob-2",
    ]


def test_another_collaborators_notice_is_404_to_read_and_to_acknowledge(
    acme: httpx.Client, engine: Engine
) -> None:
    theirs = issue(engine, "d-bolt-1")
    read = acme.get(f"/api/collaborator/notices/{theirs}")
    ack = acme.post(f"/api/collaborator/notices/{theirs}/ack", json={"shards": []})
    missing = acme.get("/api/collaborator/notices/999999")
    assert (read.status_code, ack.status_code, missing.status_code) == (404, 404, 404)
    assert read.json()["detail"].replace(str(theirs), "N") == missing.json()["detail"].replace(
        "999999", "N"
    )


def test_an_acknowledgement_records_the_shard_hashes_once_and_is_audited(
    acme: httpx.Client, engine: Engine
) -> None:
    notice_id = issue(engine, "d-acme-1", ["bob-1"])
    body = {
        "shards": [{"delivery_id": "d-acme-1", "name": "part-00000.parquet", "sha256": SHA}],
        "note": "rewrote the shard without the record",
    }
    response = acme.post(f"/api/collaborator/notices/{notice_id}/ack", json=body)
    assert response.status_code == 200, response.text
    acked = response.json()
    assert acked["status"] == "acknowledged" and acked["acknowledged_at"]
    assert acme.get(f"/api/collaborator/notices/{notice_id}").json() == acked
    again = acme.post(f"/api/collaborator/notices/{notice_id}/ack", json=body)
    assert again.status_code == 409
    assert "already acknowledged" in again.json()["detail"]
    with session_scope(engine) as session:
        [event] = audit_events(session, action="notice.ack")
        assert event.object_id == str(notice_id)
        assert event.actor.startswith("collaborator:acme:key:")
        assert event.details["shards"] == body["shards"]
        assert event.details["note"] == body["note"]


SHARD = "part-00000.parquet"


@pytest.mark.parametrize(
    ("shard", "field"),
    [
        ({"delivery_id": "d-acme-1", "name": SHARD, "sha256": "abc"}, "shards[0].sha256"),
        ({"delivery_id": "d-acme-1", "name": SHARD, "sha256": "g" * 64}, "shards[0].sha256"),
        ({"delivery_id": "d-bolt-1", "name": SHARD, "sha256": SHA}, "shards[0].delivery_id"),
        ({"delivery_id": "d-acme-1", "name": "", "sha256": SHA}, "shards[0].name"),
    ],
)
def test_an_acknowledgement_with_a_bad_shard_is_422_and_changes_nothing(
    acme: httpx.Client, engine: Engine, shard: dict[str, str], field: str
) -> None:
    notice_id = issue(engine, "d-acme-1", ["bob-1"])
    response = acme.post(f"/api/collaborator/notices/{notice_id}/ack", json={"shards": [shard]})
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert acme.get(f"/api/collaborator/notices/{notice_id}").json()["status"] == "issued"


def test_a_key_without_notices_ack_is_403_and_one_without_notices_read_too(
    service: Service, engine: Engine
) -> None:
    notice_id = issue(engine, "d-acme-1")
    reader = new_key(engine, "acme", scopes=["notices:read"])
    with service.client(headers={"Authorization": f"Bearer {reader}"}) as client:
        assert client.get(f"/api/collaborator/notices/{notice_id}").status_code == 200
        refused = client.post(f"/api/collaborator/notices/{notice_id}/ack", json={"shards": []})
    assert refused.status_code == 403
    assert "notices:ack" in refused.json()["detail"]
    downloader = new_key(engine, "acme", scopes=["deliveries:read"])
    with service.client(headers={"Authorization": f"Bearer {downloader}"}) as client:
        refused = client.get("/api/collaborator/notices")
    assert refused.status_code == 403
    assert "notices:read" in refused.json()["detail"]


@pytest.mark.parametrize("status", ["suspended", "terminated"])
def test_a_collaborator_that_is_not_active_reads_and_acknowledges_notices_but_gets_no_data(
    acme: httpx.Client, engine: Engine, status: str
) -> None:
    notice_id = issue(engine, "d-acme-1")
    with session_scope(engine) as session:
        set_collaborator_status(session, id="acme", status=status, actor="staff:alice")
    assert acme.get("/api/collaborator/deliveries").status_code == 403
    assert acme.get("/api/collaborator/deliveries/d-acme-1").status_code == 403
    assert [n["id"] for n in acme.get("/api/collaborator/notices").json()["notices"]] == [notice_id]
    assert acme.get(f"/api/collaborator/notices/{notice_id}").status_code == 200
    ack = acme.post(f"/api/collaborator/notices/{notice_id}/ack", json={"shards": []})
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"


def test_the_notice_routes_are_in_the_openapi_document(service: Service) -> None:
    with service.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/collaborator/notices", "/api/collaborator/notices/{notice_id}",
            "/api/collaborator/notices/{notice_id}/ack"} <= set(paths)  # fmt: skip
