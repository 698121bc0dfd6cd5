"""The check a collaborator (or we) run on a delivery: signature, files, counts.

``verify_delivery`` reads what ``manifest`` wrote and reports every check it ran, in order, with
each problem as a sentence naming the file or field; ``consentry verify`` and the collaborator's
client print it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow.parquet as pq
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from consentry.domain.types import ExclusionReason
from consentry.errors import ConsentryError
from consentry.pipeline.keys import key_id, load_public_key
from consentry.pipeline.manifest import (
    ALGORITHM,
    DOCUMENT_FILES,
    FORMAT,
    MANIFEST_FILE,
    SIGNATURE_FILE,
    Manifest,
    canonical_json,
    sha256_file,
    validation_problems,
)


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
