"""The collaborator API (``Bearer cst_...`` keys): its own deliveries, manifests and shards.

Another collaborator's delivery answers 404, exactly like one that does not exist. A suspended
or terminated collaborator's keys get 403 on every delivery route: it keeps no access to data.
Shards and manifests are streamed from disk with their SHA-256 (``X-Checksum-SHA256`` in hex and
``Digest: sha-256=`` in base64) and honour HTTP range requests (206), so a broken download
resumes where it stopped. Deletion notices sit beside them in ``service/api/notices.py``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from consentry.errors import NotFound
from consentry.pipeline.manifest import Manifest
from consentry.service.deps import (
    CollaboratorCaller,
    EngineDep,
    SettingsDep,
    active_collaborator_with,
)
from consentry.service.errors import ERROR_RESPONSES
from consentry.store import deliveries
from consentry.store.db import session_scope
from consentry.store.models import Delivery

router = APIRouter(prefix="/api/collaborator", tags=["collaborator"], responses=ERROR_RESPONSES)
Reader = Annotated[CollaboratorCaller, Depends(active_collaborator_with("deliveries:read"))]
"""Deliveries are data: only an active collaborator may read them."""


class ShardInfo(BaseModel):
    name: str
    sha256: str
    rows: int
    bytes: int
    url: str


class DeliverySummary(BaseModel):
    id: str
    license_id: str
    kind: str
    cutoff: datetime
    finished_at: datetime | None
    record_count: int
    url: str


class DeliveryDetail(DeliverySummary):
    manifest_sha256: str | None
    manifest_url: str
    signature_url: str
    counts: dict[str, Any]
    shards: list[ShardInfo]


def _url(delivery_id: str, rest: str = "") -> str:
    return f"/api/collaborator/deliveries/{delivery_id}{rest}"


def _summary(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "license_id": d.license_id,
        "kind": d.kind,
        "cutoff": d.cutoff,
        "finished_at": d.finished_at,
        "record_count": d.record_count,
        "url": _url(d.id),
    }


def _own_delivery(session: Session, caller: CollaboratorCaller, delivery_id: str) -> Delivery:
    return deliveries.get_delivery_of(
        session, delivery_id=delivery_id, collaborator_id=caller.collaborator_id
    )


@router.get("/deliveries", response_model=list[DeliverySummary])
def list_deliveries(engine: EngineDep, caller: Reader) -> list[DeliverySummary]:
    """Your complete deliveries, newest first."""
    with session_scope(engine) as session:
        rows = deliveries.list_deliveries(
            session, collaborator_id=caller.collaborator_id, complete_only=True
        )
        return [DeliverySummary(**_summary(d)) for d in rows]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
def get_delivery(delivery_id: str, engine: EngineDep, caller: Reader) -> DeliveryDetail:
    """One delivery: counts, manifest and its shards with their SHA-256."""
    with session_scope(engine) as session:
        delivery = _own_delivery(session, caller, delivery_id)
        return DeliveryDetail(
            **_summary(delivery),
            manifest_sha256=delivery.manifest_sha256,
            manifest_url=_url(delivery_id, "/manifest"),
            signature_url=_url(delivery_id, "/manifest.sig"),
            counts=delivery.counts,
            shards=[
                ShardInfo(
                    name=s.name,
                    sha256=s.sha256,
                    rows=s.rows,
                    bytes=s.bytes,
                    url=_url(delivery_id, f"/shards/{s.name}"),
                )
                for s in deliveries.completed_shards(session, delivery_id)
            ],
        )


def _file(path: Path, sha256_hex: str, media_type: str) -> FileResponse:
    if not path.is_file():
        raise NotFound("file", path.name, listing=deliveries.COLLABORATOR_LISTING)
    digest = base64.b64encode(bytes.fromhex(sha256_hex)).decode()
    return FileResponse(
        path,
        media_type=media_type,
        filename=path.name,
        headers={
            "X-Checksum-SHA256": sha256_hex,
            "Digest": f"sha-256={digest}",
            "Repr-Digest": f"sha-256=:{digest}:",
            "ETag": f'"{sha256_hex}"',
        },
    )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _binary(description: str, media_type: str) -> dict[int | str, dict[str, Any]]:
    schema = {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


@router.get(
    "/deliveries/{delivery_id}/manifest",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The signed manifest, byte for byte as signed.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Manifest"}}},
            "model": Manifest,
        }
    },
)
def get_manifest(
    delivery_id: str, engine: EngineDep, settings: SettingsDep, caller: Reader
) -> FileResponse:
    """The delivery's manifest: license, cut-off, counts, per-shard SHA-256, transforms."""
    with session_scope(engine) as session:
        delivery = _own_delivery(session, caller, delivery_id)
        path = deliveries.delivery_directory(delivery.path, settings.home) / "manifest.json"
        expected = delivery.manifest_sha256
    return _file(path, expected or _sha256_of(path), "application/json")


@router.get(
    "/deliveries/{delivery_id}/manifest.sig",
    response_class=FileResponse,
    responses=_binary("Ed25519 signature of the manifest.", "application/octet-stream"),
)
def get_signature(
    delivery_id: str, engine: EngineDep, settings: SettingsDep, caller: Reader
) -> FileResponse:
    """The manifest's signature; verify it with the platform's public key."""
    with session_scope(engine) as session:
        delivery = _own_delivery(session, caller, delivery_id)
        path = deliveries.delivery_directory(delivery.path, settings.home) / "manifest.sig"
    return _file(path, _sha256_of(path), "application/octet-stream")


@router.get(
    "/deliveries/{delivery_id}/shards/{name}",
    response_class=FileResponse,
    responses=_binary(
        "A Parquet shard; Range requests answer 206.", "application/vnd.apache.parquet"
    ),
)
def get_shard(
    delivery_id: str, name: str, engine: EngineDep, settings: SettingsDep, caller: Reader
) -> FileResponse:
    """One shard of the delivery, streamed; send ``Range: bytes=...`` to resume."""
    with session_scope(engine) as session:
        delivery = _own_delivery(session, caller, delivery_id)
        shard = deliveries.get_shard(session, delivery_id=delivery_id, name=name)
        path = deliveries.delivery_directory(delivery.path, settings.home) / shard.name
        sha256 = shard.sha256
    return _file(path, sha256, "application/vnd.apache.parquet")
