"""The local copy on disk: ``state.json``, and per delivery the signed files, the rewritten
shards, ``deletions.jsonl`` (what was done) and ``applied-notices.json`` (what to expect now)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consentry.errors import InvalidInput
from consentry.pipeline.keys import fsync_dir
from consentry.pipeline.manifest import MANIFEST_FILE, sha256_file, write_atomic
from consentry.pipeline.verify import LocalRewrite, VerifyReport, verify_delivery

STATE_FILE = "state.json"
STATE_FORMAT = "consentry.collab-state/1"
APPLIED_FILE = "applied-notices.json"
JOURNAL_FILE = "deletions.jsonl"
RECORD_COLUMN = "record_id"


@dataclass
class SyncState:
    notice_cursor: int = 0
    """Every notice with an id up to this one is applied to the local copy."""
    applying: int | None = None
    """A notice whose application started and did not finish (a crash): reconcile it."""
    unacknowledged: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    """Applied notices whose acknowledgement (these shards) the platform has not confirmed."""
    key_id: str | None = None
    """The signing key pinned by the first verified delivery, when none was passed."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "notice_cursor": self.notice_cursor,
            "applying": self.applying,
            "unacknowledged": {str(n): shards for n, shards in self.unacknowledged.items()},
            "key_id": self.key_id,
        }


def load_state(data: Path) -> SyncState:
    path = data / STATE_FILE
    if not path.exists():
        return SyncState()
    try:
        raw = json.loads(path.read_bytes())
        if raw.get("format") != STATE_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {STATE_FORMAT!r}")
        return SyncState(
            notice_cursor=int(raw["notice_cursor"]),
            applying=None if raw.get("applying") is None else int(raw["applying"]),
            unacknowledged={int(n): list(s) for n, s in raw["unacknowledged"].items()},
            key_id=raw.get("key_id"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            f"is not a sync state this version reads ({exc}); restore it from a backup, or move "
            "the directory aside and sync into a fresh one",
            where=str(path),
        ) from exc


def save_state(data: Path, state: SyncState) -> None:
    """Atomically (temp + fsync + rename), so a crash leaves the old state or the new one."""
    text = json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n"
    write_atomic(data / STATE_FILE, text.encode())


def temp_name(path: Path) -> Path:
    """Hidden and not ``*.parquet``, so neither a reader nor ``verify`` takes it for a shard."""
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def remove_stale_temps(directory: Path) -> None:
    """Temp files a crash left behind; they never replaced anything, so they are dropped."""
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


@dataclass(frozen=True)
class Rewrite:
    shard: str
    rows_before: int
    rows_after: int
    sha256_before: str
    sha256_after: str
    bytes_after: int

    @property
    def removed(self) -> int:
        return self.rows_before - self.rows_after


def rewrite_shard(path: Path, record_ids: pa.Array) -> Rewrite | None:
    """Rewrite ``path`` without the rows whose ``record_id`` is in ``record_ids``, keeping row
    order, row groups and schema; None (file untouched) when it holds none of them.

    The new file is written beside it under a temp name, fsynced and renamed over it, so a
    failure at any point leaves the original whole and no partial file (the temp is removed;
    after a crash, ``remove_stale_temps`` drops it)."""
    source = pq.ParquetFile(path)
    held = pc.is_in(source.read(columns=[RECORD_COLUMN])[RECORD_COLUMN], value_set=record_ids)
    removed = pc.sum(held).as_py() or 0
    if not removed:
        return None
    rows_before = source.metadata.num_rows
    sha_before = sha256_file(path)
    tmp = temp_name(path)
    try:
        with pq.ParquetWriter(
            tmp, source.schema_arrow, compression=_compression_of(source)
        ) as writer:
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                keep = pc.invert(pc.is_in(table[RECORD_COLUMN], value_set=record_ids))
                kept = table.filter(keep)
                if kept.num_rows:
                    writer.write_table(kept, row_group_size=max(kept.num_rows, 1))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        sha_after, size = sha256_file(tmp), tmp.stat().st_size
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return Rewrite(path.name, rows_before, rows_before - removed, sha_before, sha_after, size)


def _compression_of(source: pq.ParquetFile) -> str:
    if source.metadata.num_row_groups and source.metadata.row_group(0).num_columns:
        codec = str(source.metadata.row_group(0).column(0).compression).lower()
        return "none" if codec == "uncompressed" else codec
    return "zstd"


def append_journal(directory: Path, entry: dict[str, Any]) -> None:
    """One line per rewrite in ``deletions.jsonl``, fsynced: the record of what was done."""
    line = json.dumps({"at": datetime.now(UTC).isoformat(), **entry}, sort_keys=True) + "\n"
    with open(directory / JOURNAL_FILE, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def load_rewrites(directory: Path) -> dict[str, LocalRewrite]:
    """The shards of ``directory`` rewritten for deletion notices, as ``applied-notices.json``
    records them (empty for a copy as delivered)."""
    path = directory / APPLIED_FILE
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_bytes())["shards"]
        return {
            name: LocalRewrite(
                sha256=str(entry["sha256"]),
                bytes=int(entry["bytes"]),
                rows=int(entry["rows"]),
                notices=tuple(int(n) for n in entry["notices"]),
            )
            for name, entry in raw.items()
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"is not a record of applied notices ({exc}); it is rebuilt by nothing, so restore "
            "it from a backup or download the delivery again into a fresh directory",
            where=str(path),
        ) from exc


def save_rewrites(directory: Path, rewrites: dict[str, LocalRewrite]) -> None:
    body = {
        "note": "Shards rewritten locally without the records deletion notices took back; "
        f"{MANIFEST_FILE} is kept as signed and lists the delivered files.",
        "shards": {
            name: {"sha256": r.sha256, "bytes": r.bytes, "rows": r.rows, "notices": r.notices}
            for name, r in sorted(rewrites.items())
        },
    }
    write_atomic(directory / APPLIED_FILE, (json.dumps(body, indent=2) + "\n").encode())


def verify_local(directory: Path, trusted: Ed25519PublicKey | None = None) -> VerifyReport:
    """``verify_delivery`` of a local copy: rewritten shards are checked against
    ``applied-notices.json``, and the documents the API does not serve may be absent."""
    return verify_delivery(
        directory, trusted, rewrites=load_rewrites(directory), documents_required=False
    )
