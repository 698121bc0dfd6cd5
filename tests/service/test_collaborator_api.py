"""The collaborator API over real HTTP: a collaborator sees only its own deliveries, downloads
shards with their SHA-256 and resumes them with range requests; keys are scoped and revocable,
a suspended or terminated collaborator keeps no access to data, and a flood of bad keys from one
address is slowed down."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from consentry.store.credentials import create_api_key, revoke_api_key
from consentry.store.db import session_scope
from consentry.store.ledger import audit_events
from consentry.store.parties import set_collaborator_status
from service.world import Service

pytestmark = pytest.mark.usefixtures("delivered")


def new_key(engine: Engine, collaborator_id: str, scopes: list[str] | None = None) -> str:
    with session_scope(engine) as session:
        return create_api_key(
            session, collaborator_id=collaborator_id, scopes=scopes, actor="test"
        )[1]


@pytest.fixture
def acme(service: Service, engine: Engine) -> Iterator[httpx.Client]:
    key = new_key(engine, "acme")
    with service.client(headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def test_a_collaborator_lists_only_its_own_deliveries(acme: httpx.Client) -> None:
    response = acme.get("/api/collaborator/deliveries")
    assert response.status_code == 200
    assert [d["id"] for d in response.json()] == ["d-acme-1"]


def test_another_collaborators_delivery_is_404_like_a_missing_one(acme: httpx.Client) -> None:
    for path in (
        "/api/collaborator/deliveries/d-bolt-1",
        "/api/collaborator/deliveries/d-bolt-1/manifest",
        "/api/collaborator/deliveries/d-bolt-1/shards/part-00000.parquet",
    ):
        response = acme.get(path)
        assert response.status_code == 404, path
        assert "d-bolt-1" in response.json()["detail"]
    missing = acme.get("/api/collaborator/deliveries/d-none")
    assert missing.status_code == 404
    assert (
        missing.json()["detail"].replace("d-none", "d-bolt-1")
        == acme.get("/api/collaborator/deliveries/d-bolt-1").json()["detail"]
    )


def test_a_shard_downloads_whole_with_its_checksum(
    acme: httpx.Client, delivered: dict[str, Path]
) -> None:
    detail = acme.get("/api/collaborator/deliveries/d-acme-1").json()
    [shard] = detail["shards"]
    response = acme.get(shard["url"])
    assert response.status_code == 200
    body = response.content
    digest = hashlib.sha256(body).hexdigest()
    assert digest == shard["sha256"] == response.headers["x-checksum-sha256"]
    assert response.headers["digest"] == (
        "sha-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    )
    assert pq.read_table(io.BytesIO(body)).num_rows == shard["rows"] == 3
    assert body == (delivered["d-acme-1"] / shard["name"]).read_bytes()


def test_a_broken_download_resumes_with_a_range_request(acme: httpx.Client) -> None:
    url = "/api/collaborator/deliveries/d-acme-1/shards/part-00000.parquet"
    whole = acme.get(url).content
    head = acme.get(url, headers={"Range": "bytes=0-99"})
    tail = acme.get(url, headers={"Range": "bytes=100-"})
    assert (head.status_code, tail.status_code) == (206, 206)
    assert head.headers["content-range"] == f"bytes 0-99/{len(whole)}"
    assert head.content + tail.content == whole
    beyond = acme.get(url, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert beyond.status_code == 416


def test_the_manifest_and_signature_come_with_their_checksums(acme: httpx.Client) -> None:
    manifest = acme.get("/api/collaborator/deliveries/d-acme-1/manifest")
    signature = acme.get("/api/collaborator/deliveries/d-acme-1/manifest.sig")
    assert manifest.json()["delivery_id"] == "d-acme-1"
    assert manifest.headers["x-checksum-sha256"] == hashlib.sha256(manifest.content).hexdigest()
    assert signature.headers["x-checksum-sha256"] == hashlib.sha256(signature.content).hexdigest()


def test_only_registered_shard_names_reach_the_disk(acme: httpx.Client) -> None:
    for name in ("..%2Fmanifest.json", "manifest.json", "part-00001.parquet"):
        response = acme.get(f"/api/collaborator/deliveries/d-acme-1/shards/{name}")
        assert response.status_code == 404, name


def test_a_key_without_the_scope_is_403(service: Service, engine: Engine) -> None:
    key = new_key(engine, "acme", scopes=["notices:read"])
    with service.client(headers={"Authorization": f"Bearer {key}"}) as client:
        response = client.get("/api/collaborator/deliveries")
    assert response.status_code == 403
    assert "deliveries:read" in response.json()["detail"]


def test_a_revoked_key_stops_working(service: Service, engine: Engine) -> None:
    key = new_key(engine, "acme")
    with service.client(headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.get("/api/collaborator/deliveries").status_code == 200
        with session_scope(engine) as session:
            revoke_api_key(session, key_id=key.split("_")[1], actor="test")
        response = client.get("/api/collaborator/deliveries")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


DATA_ROUTES = (
    "/api/collaborator/deliveries",
    "/api/collaborator/deliveries/d-acme-1",
    "/api/collaborator/deliveries/d-acme-1/manifest",
    "/api/collaborator/deliveries/d-acme-1/manifest.sig",
    "/api/collaborator/deliveries/d-acme-1/shards/part-00000.parquet",
)


@pytest.mark.parametrize("status", ["suspended", "terminated"])
def test_a_collaborator_that_is_not_active_gets_no_data_until_reactivated(
    acme: httpx.Client, engine: Engine, status: str
) -> None:
    assert [acme.get(path).status_code for path in DATA_ROUTES] == [200] * len(DATA_ROUTES)
    with session_scope(engine) as session:
        set_collaborator_status(session, id="acme", status=status, actor="staff:alice")
    for path in DATA_ROUTES:
        refused = acme.get(path)
        assert refused.status_code == 403, path
        detail = refused.json()["detail"]
        assert f"'acme' is {status}" in detail
        assert "only deletion notices can still be read and acknowledged" in detail
        assert "consentry collaborator status acme active" in detail
    with session_scope(engine) as session:
        set_collaborator_status(session, id="acme", status="active", actor="staff:alice")
    assert [acme.get(path).status_code for path in DATA_ROUTES] == [200] * len(DATA_ROUTES)
    with session_scope(engine) as session:
        changes = [
            (e.actor, e.details)
            for e in reversed(audit_events(session, action="collaborator.status"))
        ]
    assert changes == [
        ("staff:alice", {"from": "active", "to": status}),
        ("staff:alice", {"from": status, "to": "active"}),
    ]


def test_a_suspended_collaborators_delivery_stays_404_to_others(
    service: Service, engine: Engine
) -> None:
    """Suspending bolt changes nothing for acme, and tells acme nothing about bolt's data."""
    key = new_key(engine, "acme")
    with session_scope(engine) as session:
        set_collaborator_status(session, id="bolt", status="suspended", actor="test")
    with service.client(headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.get("/api/collaborator/deliveries").status_code == 200
        assert client.get("/api/collaborator/deliveries/d-bolt-1").status_code == 404
