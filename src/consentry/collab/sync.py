"""One sync: new deliveries in (verified, all or nothing), notices applied, then acknowledged.

The order matters: a rewrite is on disk (and in ``state.json``) before its acknowledgement is
sent, and the cursor moves past a notice only once it is applied, so a crash anywhere leads the
next run to finish the job, and a run with nothing new changes nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consentry.collab.client import CollaboratorApi
from consentry.collab.local import (
    LocalRewrite,
    SyncState,
    append_journal,
    load_rewrites,
    load_state,
    remove_stale_temps,
    rewrite_shard,
    save_rewrites,
    save_state,
    verify_local,
)
from consentry.errors import ConsentryError, IntegrityFailure, NotAllowed
from consentry.pipeline.keys import fsync_dir
from consentry.pipeline.manifest import MANIFEST_FILE, SIGNATURE_FILE, Manifest, sha256_file

PARTIAL_SUFFIX = ".partial"


@dataclass
class SyncReport:
    downloaded: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    """Deliveries not kept, with why."""
    applied: list[int] = field(default_factory=list)
    records_removed: int = 0
    shards_rewritten: int = 0
    acknowledged: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.downloaded or self.applied or self.acknowledged or self.refused)


def held_deliveries(data: Path) -> set[str]:
    """Deliveries of the local copy: a directory with its signed manifest (never a partial)."""
    return {
        path.name
        for path in data.iterdir()
        if path.is_dir() and not path.name.startswith(".") and (path / MANIFEST_FILE).is_file()
    }


def sync(
    api: CollaboratorApi,
    data: Path,
    *,
    trusted: Ed25519PublicKey | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> SyncReport:
    """Bring ``data`` up to date with the platform; see the package docstring for the layout."""
    data.mkdir(parents=True, exist_ok=True)
    report = SyncReport()
    state = load_state(data)
    for leftover in data.glob(f".*{PARTIAL_SUFFIX}"):
        shutil.rmtree(leftover)  # a download a crash interrupted; it was never kept
    for delivery_id in held_deliveries(data):
        remove_stale_temps(data / delivery_id)
    new = _download_new(api, data, state, trusted, report, say)
    _send_acknowledgements(api, data, state, report)
    if new and state.notice_cursor:
        _catch_up(api, data, new, state.notice_cursor, report)
    for notice in _feed(api, state.notice_cursor):
        _apply(data, state, notice, report, recovering=state.applying == notice["id"])
        if notice.get("status") == "acknowledged":
            # Acknowledged already (by staff on our behalf, or just before a crash): the
            # local deletion still had to happen, the acknowledgement does not.
            state.unacknowledged.pop(notice["id"], None)
            save_state(data, state)
        _send_acknowledgements(api, data, state, report)
    return report


# --- deliveries ----------------------------------------------------------------------------


def _download_new(
    api: CollaboratorApi,
    data: Path,
    state: SyncState,
    trusted: Ed25519PublicKey | None,
    report: SyncReport,
    say: Callable[[str], None],
) -> list[str]:
    try:
        listed = api.deliveries()
    except NotAllowed as exc:
        report.notes.append(f"deliveries not downloaded: {exc}")
        return []
    held = held_deliveries(data)
    for summary in reversed(listed):  # oldest first
        delivery_id = summary["id"]
        if delivery_id in held:
            continue
        say(f"downloading {delivery_id}")
        try:
            _download(api, data, delivery_id, state, trusted)
        except IntegrityFailure as exc:
            report.refused[delivery_id] = str(exc)
            continue
        report.downloaded.append(delivery_id)
    return report.downloaded


def _download(
    api: CollaboratorApi,
    data: Path,
    delivery_id: str,
    state: SyncState,
    trusted: Ed25519PublicKey | None,
) -> None:
    """Into ``.<id>.partial``, verified, then renamed; the partial directory never stays."""
    if "/" in delivery_id or delivery_id.startswith("."):
        raise IntegrityFailure(f"the API listed a delivery id {delivery_id!r} that is no name")
    detail = api.delivery(delivery_id)
    partial = data / f".{delivery_id}{PARTIAL_SUFFIX}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        api.download(
            detail["manifest_url"], partial / MANIFEST_FILE, sha256=detail.get("manifest_sha256")
        )
        api.download(detail["signature_url"], partial / SIGNATURE_FILE, sha256=None)
        for shard in detail["shards"]:
            api.download(shard["url"], partial / shard["name"], sha256=shard["sha256"])
        verified = verify_local(partial, trusted)
        if not verified.ok:
            raise IntegrityFailure(
                f"delivery {delivery_id} failed verification, so none of it was kept: "
                + " ".join(verified.problems)
            )
        _pin_key(state, verified.manifest, delivery_id, trusted)
        fsync_dir(partial)
        partial.rename(data / delivery_id)
        fsync_dir(data)
        save_state(data, state)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _pin_key(
    state: SyncState, manifest: Manifest | None, delivery_id: str, trusted: Ed25519PublicKey | None
) -> None:
    signed_by = str(manifest.signature.key_id if manifest and manifest.signature else None)
    if trusted is not None:
        return  # verify_delivery already held the signature to the trusted key
    if state.key_id is None:
        state.key_id = signed_by
    elif state.key_id != signed_by:
        raise IntegrityFailure(
            f"delivery {delivery_id} is signed by key {signed_by}, but earlier deliveries by "
            f"{state.key_id}: if the platform changed its key, get the new public key from it "
            "and pass it with --public-key"
        )


# --- notices -------------------------------------------------------------------------------


def _feed(api: CollaboratorApi, cursor: int) -> Iterator[dict[str, Any]]:
    while True:
        page, cursor = api.notices_after(cursor)
        if not page:
            return
        yield from page


def _catch_up(
    api: CollaboratorApi, data: Path, new: list[str], upto: int, report: SyncReport
) -> None:
    """Apply notices already past the cursor to deliveries downloaded only now."""
    fresh = set(new)
    for notice in _feed(api, 0):
        if notice["id"] > upto:
            return
        records = [r for r in notice["records"] if r["delivery_id"] in fresh]
        if records:
            _rewrite_for(data, {**notice, "records": records}, report)


def _apply(
    data: Path, state: SyncState, notice: dict[str, Any], report: SyncReport, *, recovering: bool
) -> None:
    """Rewrite the local shards without the notice's records; then move the cursor past it
    and queue its acknowledgement, in one state write."""
    notice_id = int(notice["id"])
    state.applying = notice_id
    save_state(data, state)
    if recovering:
        _reconcile(data, notice)
    _rewrite_for(data, notice, report)
    state.unacknowledged[notice_id] = _acknowledged_shards(data, notice)
    state.notice_cursor, state.applying = notice_id, None
    save_state(data, state)
    report.applied.append(notice_id)


def _by_delivery(notice: dict[str, Any]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for record in notice["records"]:
        grouped.setdefault(record["delivery_id"], []).append(record["record_id"])
    return grouped


def _rewrite_for(data: Path, notice: dict[str, Any], report: SyncReport) -> None:
    held = held_deliveries(data)
    for delivery_id, ids in sorted(_by_delivery(notice).items()):
        if delivery_id not in held:
            report.notes.append(
                f"notice {notice['id']} names delivery {delivery_id}, which is not held here"
            )
            continue
        directory = data / delivery_id
        rewrites = load_rewrites(directory)
        value_set = pa.array(ids, pa.string())
        for shard in sorted(directory.glob("*.parquet")):
            done = rewrite_shard(shard, value_set)
            if done is None:
                continue
            _record(
                directory,
                rewrites,
                notice,
                done.shard,
                done.removed,
                done.rows_after,
                done.sha256_before,
                done.sha256_after,
                done.bytes_after,
            )
            report.records_removed += done.removed
            report.shards_rewritten += 1


def _record(
    directory: Path,
    rewrites: dict[str, LocalRewrite],
    notice: dict[str, Any],
    shard: str,
    removed: int,
    rows_after: int,
    sha_before: str | None,
    sha_after: str,
    bytes_after: int,
) -> None:
    notice_id = int(notice["id"])
    append_journal(
        directory,
        {
            "notice_id": notice_id,
            "reason": notice.get("reason"),
            "shard": shard,
            "records_removed": removed,
            "rows_after": rows_after,
            "sha256_before": sha_before,
            "sha256_after": sha_after,
        },
    )
    earlier = rewrites[shard].notices if shard in rewrites else ()
    rewrites[shard] = LocalRewrite(
        sha256=sha_after,
        bytes=bytes_after,
        rows=rows_after,
        notices=tuple(sorted({*earlier, notice_id})),
    )
    save_rewrites(directory, rewrites)


def _reconcile(data: Path, notice: dict[str, Any]) -> None:
    """After a crash mid-notice: a shard renamed into place whose rewrite was not recorded yet
    differs from its last known hash; only this notice can have rewritten it, so record it."""
    held = held_deliveries(data)
    for delivery_id in _by_delivery(notice):
        if delivery_id not in held:
            continue
        directory = data / delivery_id
        rewrites = load_rewrites(directory)
        signed = json.loads((directory / MANIFEST_FILE).read_bytes())
        for entry in signed.get("shards", []):
            name, path = entry["name"], directory / entry["name"]
            known = rewrites.get(name)
            expected_sha = known.sha256 if known else entry["sha256"]
            expected_rows = known.rows if known else int(entry["rows"])
            if not path.is_file() or sha256_file(path) == expected_sha:
                continue
            rows = pq.ParquetFile(path).metadata.num_rows
            _record(
                directory,
                rewrites,
                notice,
                name,
                expected_rows - rows,
                rows,
                expected_sha,
                sha256_file(path),
                path.stat().st_size,
            )


def _acknowledged_shards(data: Path, notice: dict[str, Any]) -> list[dict[str, str]]:
    """Every local shard this notice rewrote, with its SHA-256 as it is on disk now."""
    shards = []
    held = held_deliveries(data)
    for delivery_id in sorted(_by_delivery(notice)):
        if delivery_id not in held:
            continue
        for name, rewrite in sorted(load_rewrites(data / delivery_id).items()):
            if int(notice["id"]) in rewrite.notices:
                shards.append({"delivery_id": delivery_id, "name": name, "sha256": rewrite.sha256})
    return shards


def _send_acknowledgements(
    api: CollaboratorApi, data: Path, state: SyncState, report: SyncReport
) -> None:
    for notice_id, shards in sorted(state.unacknowledged.items()):
        try:
            if api.acknowledge(notice_id, shards):
                report.acknowledged.append(notice_id)
        except ConsentryError as exc:
            report.notes.append(f"notice {notice_id} not acknowledged yet ({exc}); run again")
            continue
        del state.unacknowledged[notice_id]
        save_state(data, state)
