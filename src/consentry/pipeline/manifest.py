"""The signed manifest of a delivery, and the check a collaborator (or we) run on it.

``manifest.json`` says what was delivered and why; ``manifest.sig`` is the Ed25519 signature of
its canonical JSON (sorted keys, compact, UTF-8). The signing key's public half and id are inside
the signed manifest, so swapping the key metadata breaks the signature too; a verifier that has
our public key from elsewhere passes it as the trusted key instead of believing the embedded one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow.parquet as pq
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

from consentry.domain.types import ExclusionReason
from consentry.errors import ConsentryError, InvalidInput
from consentry.pipeline.keys import key_id, load_public_key, public_key_pem

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


@dataclass(frozen=True)
class Check:
    status: Literal["ok", "note", "problem"]
    message: str


@dataclass(frozen=True)
class LocalRewrite:
    """A shard its holder rewrote without the records deletion notices took back: the signed
    manifest still lists the delivered file, so the holder's own record says what to expect."""

    sha256: str
    bytes: int
    rows: int
    notices: tuple[int, ...]


@dataclass
class VerifyReport:
    ok: bool
    problems: list[str]
    manifest: Manifest | None
    """The manifest as the model, when it was found and fits it."""
    checks: list[Check] = field(default_factory=list)
    """Every check in the order run, passed ones too, for ``consentry verify`` to print."""


def _problem(message: str) -> Check:
    return Check("problem", message)


def _ok(message: str) -> Check:
    return Check("ok", message)


def _note(message: str) -> Check:
    return Check("note", message)


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


def verify_delivery(
    directory: Path,
    trusted_public_key: Ed25519PublicKey | None = None,
    *,
    rewrites: Mapping[str, LocalRewrite] | None = None,
    documents_required: bool = True,
) -> VerifyReport:
    """Check a delivery directory: signature, every shard's hash, size and row count, no
    unlisted shards, and counts that add up. Problems are sentences naming the file.

    ``rewrites`` (a collaborator's local copy after deletion notices) checks those shards
    against the holder's record instead of the signed entry, and says so in a note;
    ``documents_required=False`` lets signed documents be absent (the collaborator API serves
    manifest, signature and shards only), checking those present."""
    checks: list[Check] = []
    typed: Manifest | None = None
    # The signature covers the bytes as signed, and the checks below name what is wrong in a
    # foreign or tampered manifest, so they read the raw JSON; the model is what callers get.
    manifest = _load_manifest(directory, checks)
    if manifest is not None:
        checks += _check_signature(directory, manifest, trusted_public_key)
        checks += _check_files(directory, manifest, rewrites or {}, documents_required)
        checks += _check_counts(manifest)
        try:
            typed = Manifest.model_validate(manifest)
        except ValidationError as exc:
            if not any(check.status == "problem" for check in checks):
                checks += [_problem(message) for message in validation_problems(exc)]
    problems = [check.message for check in checks if check.status == "problem"]
    return VerifyReport(ok=not problems, problems=problems, manifest=typed, checks=checks)


def _load_manifest(directory: Path, checks: list[Check]) -> dict[str, Any] | None:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        checks.append(
            _problem(
                f"{path} is missing: the delivery is unfinished or this "
                "is not a delivery directory."
            )
        )
        return None
    try:
        manifest = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        checks.append(_problem(f"{path} is not valid JSON ({exc})."))
        return None
    if not isinstance(manifest, dict):
        checks.append(_problem(f"{path} holds a JSON {type(manifest).__name__}, not an object."))
        return None
    if manifest.get("format") != FORMAT:
        checks.append(
            _problem(
                f"{path} has format {manifest.get('format')!r}; this "
                f"version of consentry reads {FORMAT!r}."
            )
        )
    return manifest


def _check_signature(
    directory: Path, manifest: dict[str, Any], trusted: Ed25519PublicKey | None
) -> Iterator[Check]:
    sig_path = directory / SIGNATURE_FILE
    meta = manifest.get("signature")
    if not isinstance(meta, dict) or meta.get("algorithm") != ALGORITHM:
        yield _problem(f"{directory / MANIFEST_FILE} has no Ed25519 signature metadata.")
        return
    try:
        embedded = load_public_key(
            str(meta.get("public_key_pem", "")), where=f"{MANIFEST_FILE} signature.public_key_pem"
        )
    except ConsentryError as exc:
        yield _problem(f"{exc}.")
        return
    if meta.get("key_id") != key_id(embedded):
        yield _problem(
            f"{MANIFEST_FILE} names key {meta.get('key_id')!r} but embeds "
            f"the public key {key_id(embedded)}."
        )
    if trusted is not None and key_id(trusted) != key_id(embedded):
        yield _problem(
            f"{MANIFEST_FILE} was signed by key {key_id(embedded)}, not by "
            f"the trusted key {key_id(trusted)}."
        )
    verifier = trusted or embedded
    if not sig_path.is_file():
        yield _problem(f"{sig_path} is missing, so {MANIFEST_FILE} cannot be checked.")
        return
    try:
        signature = base64.b64decode(sig_path.read_bytes().strip(), validate=True)
        verifier.verify(signature, canonical_json(manifest))
    except (binascii.Error, InvalidSignature, ValueError, ConsentryError):
        yield _problem(
            f"{SIGNATURE_FILE} does not match {MANIFEST_FILE} under key "
            f"{key_id(verifier)}: the manifest was changed after signing, "
            "or signed by another key."
        )
        return
    yield _ok(
        f"{SIGNATURE_FILE}: valid Ed25519 signature of {MANIFEST_FILE} by key {key_id(verifier)}."
    )
    if trusted is None:
        yield _note(
            f"the key {key_id(embedded)} was taken from {MANIFEST_FILE} itself; "
            "pass the publisher's public key to prove who signed it."
        )


def _check_files(
    directory: Path,
    manifest: dict[str, Any],
    rewrites: Mapping[str, LocalRewrite],
    documents_required: bool,
) -> Iterator[Check]:
    shards = manifest.get("shards")
    if not isinstance(shards, list):
        yield _problem(f"{MANIFEST_FILE} has no list of shards.")
        shards = []
    listed: set[str] = set()
    for position, entry in enumerate(shards):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _is_plain_name(name, ".parquet"):
            yield _problem(
                f"{MANIFEST_FILE} shard #{position + 1} has name {name!r}; "
                "expected a plain *.parquet file name."
            )
            continue
        listed.add(name)
        if name in rewrites:
            yield from _check_rewrite(directory / name, entry, rewrites[name])
        else:
            yield from _check_file(directory / name, entry, parquet=True)
    for name in sorted(set(rewrites) - listed):
        yield _problem(f"a local rewrite names {name!r}, which {MANIFEST_FILE} does not list.")
    for document in manifest.get("documents") or []:
        name = document.get("name") if isinstance(document, dict) else None
        if name not in DOCUMENT_FILES:
            yield _problem(f"{MANIFEST_FILE} lists an unexpected document {name!r}.")
            continue
        if not documents_required and not (directory / name).exists():
            yield _note(f"{name} is signed in {MANIFEST_FILE} but was not downloaded.")
            continue
        yield from _check_file(directory / name, document, parquet=False)
    extra = sorted(
        str(path.relative_to(directory))
        for path in directory.rglob("*.parquet")
        if str(path.relative_to(directory)) not in listed
    )
    for name in extra:
        yield _problem(
            f"{directory / name} is not listed in {MANIFEST_FILE}: a shard was added after signing."
        )
    if not extra:
        yield _ok(f"no unlisted .parquet files; {len(listed)} shards listed.")


def _check_file(path: Path, entry: dict[str, Any], *, parquet: bool) -> Iterator[Check]:
    if not path.is_file():
        yield _problem(f"{path} is listed in {MANIFEST_FILE} but missing.")
        return
    size = path.stat().st_size
    if size != entry.get("bytes"):
        yield _problem(
            f"{path} has {size} bytes; {MANIFEST_FILE} says {entry.get('bytes')}: "
            "the file was changed."
        )
        return
    digest = sha256_file(path)
    if digest != entry.get("sha256"):
        yield _problem(
            f"{path} has SHA-256 {digest}; {MANIFEST_FILE} says "
            f"{entry.get('sha256')}: the file was changed."
        )
        return
    if parquet:
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            yield _problem(f"{path} is not a readable Parquet file ({exc}).")
            return
        if rows != entry.get("rows"):
            yield _problem(f"{path} has {rows} rows; {MANIFEST_FILE} says {entry.get('rows')}.")
            return
        yield _ok(f"{path.name}: SHA-256, {size} bytes and {rows} rows match.")
    else:
        yield _ok(f"{path.name}: SHA-256 and {size} bytes match.")


def _check_rewrite(path: Path, signed: dict[str, Any], rewrite: LocalRewrite) -> Iterator[Check]:
    """A rewritten shard must match the holder's record and hold fewer rows than delivered."""
    local = {"sha256": rewrite.sha256, "bytes": rewrite.bytes, "rows": rewrite.rows}
    checks = list(_check_file(path, local, parquet=True))
    yield from (check for check in checks if check.status == "problem")
    if any(check.status == "problem" for check in checks):
        return
    delivered = signed.get("rows")
    if not isinstance(delivered, int) or rewrite.rows > delivered:
        yield _problem(
            f"{path} has {rewrite.rows} rows after its local rewrite, more than the "
            f"{delivered} {MANIFEST_FILE} says were delivered."
        )
        return
    notices = ", ".join(str(n) for n in rewrite.notices)
    yield _note(
        f"{path.name}: rewritten locally for deletion notice(s) {notices}: "
        f"{delivered - rewrite.rows} records removed, {rewrite.rows} rows, SHA-256 "
        f"{rewrite.sha256} as recorded in applied-notices.json (the signed manifest lists the "
        f"delivered file, {signed.get('sha256')})."
    )


def _check_counts(manifest: dict[str, Any]) -> Iterator[Check]:
    counts: Any = manifest.get("counts")
    shards: Any = manifest.get("shards") if isinstance(manifest.get("shards"), list) else []
    try:
        excluded: dict[str, int] = counts["excluded"]
        scanned, delivered = int(counts["scanned"]), int(counts["delivered"])
        shard_rows = sum(int(shard["rows"]) for shard in shards)
        excluded_total = sum(int(n) for n in excluded.values())
    except (KeyError, TypeError, ValueError, AttributeError):
        yield _problem(
            f"{MANIFEST_FILE} counts are incomplete: expected scanned, "
            "delivered, excluded per reason and rows per shard."
        )
        return
    reasons = [reason.value for reason in ExclusionReason]
    ok = True
    if sorted(excluded) != sorted(reasons):
        ok = False
        yield _problem(
            f"{MANIFEST_FILE} counts.excluded has reasons {sorted(excluded)}; "
            f"expected exactly {reasons}."
        )
    if delivered != shard_rows:
        ok = False
        yield _problem(
            f"{MANIFEST_FILE} says {delivered} records delivered but its "
            f"shards hold {shard_rows} rows."
        )
    if scanned != delivered + excluded_total:
        ok = False
        yield _problem(
            f"{MANIFEST_FILE} says {scanned} posts scanned but {delivered} "
            f"delivered + {excluded_total} excluded = "
            f"{delivered + excluded_total}."
        )
    for key, total in _delivered_breakdowns(manifest):
        if total != delivered:
            ok = False
            yield _problem(
                f"{MANIFEST_FILE} {key} adds up to {total} delivered records, not {delivered}."
            )
    if ok:
        yield _ok(
            f"counts add up: {scanned} scanned = {delivered} delivered + {excluded_total} excluded."
        )


def _delivered_breakdowns(manifest: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """Each delivered record has one jurisdiction and one consent basis, so both sum up."""
    summary = manifest.get("consent_summary")
    if isinstance(summary, list):
        try:
            yield "consent_summary", sum(int(row["delivered"]) for row in summary)
        except (KeyError, TypeError, ValueError):
            yield "consent_summary", -1
    basis = manifest.get("consent_basis_summary")
    if isinstance(basis, dict):
        try:
            yield "consent_basis_summary", sum(int(n) for n in basis.values())
        except (TypeError, ValueError):
            yield "consent_basis_summary", -1


def _is_plain_name(name: object, suffix: str) -> bool:
    return (
        isinstance(name, str)
        and name.endswith(suffix)
        and Path(name).name == name
        and not name.startswith(".")
    )


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
