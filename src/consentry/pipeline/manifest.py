"""The signed manifest of a delivery: the typed model, written and read by the same class.

``manifest.json`` says what was delivered and why; ``manifest.sig`` is the Ed25519 signature of
its canonical JSON (sorted keys, compact, UTF-8). The signing key's public half and id are inside
the signed manifest, so swapping the key metadata breaks the signature too; a verifier that has
our public key from elsewhere passes it as the trusted key instead of believing the embedded one
(``verify.verify_delivery``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

from consentry.errors import InvalidInput
from consentry.pipeline.keys import key_id, public_key_pem

FORMAT = "consentry.delivery/1"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
DOCUMENT_FILES = ("croissant.json", "DATASHEET.md")
"""Written before the manifest; when present, their hashes are listed in it and so signed."""
ALGORITHM = "Ed25519"
_CHUNK = 1 << 20

Moment = Annotated[datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str)]
"""A time in the manifest: ISO 8601 with its offset, written as ``datetime.isoformat`` does."""


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class LicenseInfo(_Part):
    id: str
    purpose: str
    description: str | None = None
    scope: dict[str, Any] = Field(default_factory=dict)
    fields: list[str] = Field(default_factory=list)
    transforms: dict[str, Any] = Field(default_factory=dict)
    price_model: str
    deletion_sla_days: int


class CollaboratorInfo(_Part):
    id: str
    name: str
    country: str


class Software(_Part):
    name: str
    version: str


class Counts(_Part):
    """What happened to every post scanned (the field order is the order stored with the
    delivery row)."""

    scanned: int
    in_scope: int
    excluded: dict[str, int]
    """Posts excluded, per reason of the consent rule (every reason, zeros too)."""
    delivered: int
    previously_delivered: int = 0
    withdrawn_after_delivery: int = 0
    reposts_dropped: int = 0
    quotes_inlined: int = 0
    quotes_masked: int = 0

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


class ShardEntry(_Part):
    name: str
    sha256: str
    rows: int
    bytes: int


class SchemaField(_Part):
    name: str
    type: str
    description: str | None = None


class Transform(_Part):
    name: str
    description: str


class JurisdictionSummary(_Part):
    jurisdiction: str
    delivered: int
    excluded: int


class BasisSummary(_Part):
    event: int = 0
    policy_default: int = 0


class SignatureInfo(_Part):
    algorithm: str
    key_id: str
    public_key_pem: str


class DocumentEntry(_Part):
    name: str
    sha256: str
    bytes: int


class Publisher(_Part):
    name: str | None = None


class Manifest(_Part):
    """``manifest.json``, written and read by this one class. Unknown fields are kept, so a
    manifest read and written again signs the same bytes."""

    format: Literal["consentry.delivery/1"] = "consentry.delivery/1"
    delivery_id: str
    kind: str
    previous_delivery_id: str | None = None
    license: LicenseInfo
    collaborator: CollaboratorInfo
    cutoff: Moment
    as_of: Moment
    created_at: Moment
    engine: str
    software: Software
    counts: Counts
    shards: list[ShardEntry]
    columns: list[SchemaField] = Field(alias="schema")
    """The delivered columns (``schema`` in the file; the name is taken on a pydantic model)."""
    transforms: list[Transform] = Field(default_factory=list)
    consent_summary: list[JurisdictionSummary] = Field(default_factory=list)
    consent_basis_summary: BasisSummary = Field(default_factory=BasisSummary)
    publisher: Publisher | None = None
    signature: SignatureInfo | None = None
    documents: list[DocumentEntry] | None = None
    """The metadata files written before the manifest, with their hashes (absent when none)."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object as written; optional parts left out when absent."""
        data = self.model_dump(mode="json", by_alias=True)
        for name in ("publisher", "signature", "documents"):
            if data.get(name) is None:
                data.pop(name, None)
        return data

    def canonical(self) -> bytes:
        return canonical_json(self.to_json())

    @property
    def publisher_name(self) -> str:
        """Who publishes the data: the optional ``publisher.name``, else the platform."""
        return (self.publisher.name if self.publisher else None) or "The platform"


def validation_problems(error: ValidationError) -> list[str]:
    """Each way a manifest does not fit the model, as a sentence naming the field."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "the top level"
        problems.append(f"{MANIFEST_FILE} field {where}: {item['msg'].rstrip('.')}.")
    return problems


@dataclass(frozen=True)
class SignedManifest:
    sha256: str
    """SHA-256 of ``manifest.json`` as written (what ``sha256sum manifest.json`` prints)."""
    signature_b64: str
    key_id: str


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks so shards of any size fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(obj: Any) -> bytes:
    """The bytes that are signed: sorted keys, no whitespace, UTF-8, no NaN."""
    try:
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        where = _first_non_json(obj, "manifest") or "manifest"
        raise InvalidInput(
            f"cannot be written as JSON ({exc}); pass times as ISO strings and numbers as int",
            where=where,
        ) from exc
    return text.encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name beside ``path``, fsync, rename over it, fsync the directory."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_signed_manifest(
    out_dir: Path, manifest: Manifest, key: Ed25519PrivateKey
) -> SignedManifest:
    """Sign and write ``manifest.sig``, then ``manifest.json`` (whose presence marks a finished
    delivery). Adds the signature metadata and the hashes of the documents already in out_dir."""
    public = key.public_key()
    documents = [
        DocumentEntry(name=name, sha256=sha256_file(path), bytes=path.stat().st_size)
        for name in DOCUMENT_FILES
        if (path := out_dir / name).is_file()
    ]
    signature = SignatureInfo(
        algorithm=ALGORITHM, key_id=key_id(public), public_key_pem=public_key_pem(public)
    )
    signed = manifest.model_copy(update={"signature": signature, "documents": documents or None})
    body = signed.to_json()
    signature_b64 = base64.b64encode(key.sign(canonical_json(body))).decode("ascii")
    pretty = (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    write_atomic(out_dir / SIGNATURE_FILE, (signature_b64 + "\n").encode("ascii"))
    write_atomic(out_dir / MANIFEST_FILE, pretty)
    return SignedManifest(
        sha256=hashlib.sha256(pretty).hexdigest(),
        signature_b64=signature_b64,
        key_id=signature.key_id,
    )


def read_manifest(directory: Path) -> Manifest:
    """The manifest of a delivery directory, as the model (raises ``InvalidInput`` naming the
    field when it does not fit)."""
    path = directory / MANIFEST_FILE
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InvalidInput(" ".join(validation_problems(exc)), where=str(path)) from exc


def _first_non_json(obj: Any, path: str) -> str | None:
    """The dotted path of the first value json cannot write, to name it in the error."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                return f"{path} key {key!r}"
            found = _first_non_json(value, f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            found = _first_non_json(value, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return path
    if obj is None or isinstance(obj, str | int | float | bool):
        return None
    return path
