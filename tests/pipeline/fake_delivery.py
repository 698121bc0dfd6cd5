"""A small but real delivery directory: Parquet shards written by pyarrow, the metadata files,
and a manifest signed the way the export signs it. The counts add up unless a test says not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consentry.domain.types import ExclusionReason
from consentry.pipeline.manifest import Manifest, sha256_file, write_signed_manifest
from consentry.pipeline.metadata import write_croissant, write_datasheet

# One excluded post per reason, times its position: 1 direct message, 2 deleted, ... 9 before
EXCLUDED = {reason.value: i for i, reason in enumerate(ExclusionReason, start=1)}

DESCRIPTIONS = {
    "record_id": "Pseudonym of the post.",
    "author_id": "Pseudonym of the author's account.",
    "created_at": "When the post was created (UTC, coarsened to the day).",
    "created_on": "The day the post was created.",
    "text": "Post text with personal data replaced by typed placeholders.",
    "like_count": "Likes at export time.",
    "score": "A quality score.",
    "is_reply": "Whether the post replies to another.",
}


def shard_table(shard: int, rows: int) -> pa.Table:
    """Rows with every kind of column the Croissant mapping knows."""
    ids = [f"r{shard}{i:03d}" for i in range(rows)]
    return pa.table(
        {
            "record_id": pa.array(ids, pa.string()),
            "author_id": pa.array([f"a{i % 2}" for i in range(rows)], pa.string()),
            "created_at": pa.array(
                [datetime(2024, 11, 20 + shard, tzinfo=UTC)] * rows, pa.timestamp("us", tz="UTC")
            ),
            "created_on": pa.array([date(2024, 11, 20 + shard)] * rows, pa.date32()),
            "text": pa.array([f"post {i} of shard {shard}, mail [EMAIL]" for i in range(rows)]),
            "like_count": pa.array(range(rows), pa.int64()),
            "score": pa.array([i / 4 for i in range(rows)], pa.float64()),
            "is_reply": pa.array([i % 2 == 1 for i in range(rows)], pa.bool_()),
        }
    )


def base_manifest(out_dir: Path, shards: int, rows: int) -> dict[str, Any]:
    """Write the shards and describe them the way the export does."""
    out_dir.mkdir(parents=True, exist_ok=True)
    listed = []
    schema: pa.Schema | None = None
    for shard in range(shards):
        table = shard_table(shard, rows)
        schema = table.schema
        path = out_dir / f"part-{shard:05d}.parquet"
        pq.write_table(table, path)
        listed.append(
            {
                "name": path.name,
                "sha256": sha256_file(path),
                "rows": rows,
                "bytes": path.stat().st_size,
            }
        )
    assert schema is not None
    delivered = shards * rows
    excluded_total = sum(EXCLUDED.values())
    return {
        "format": "consentry.delivery/1",
        "delivery_id": "d-2024-12-15-nw-all",
        "kind": "full",
        "previous_delivery_id": None,
        "license": {
            "id": "nw-all",
            "purpose": "train_ai_system",
            "description": "Pretraining of the Northwind chat model.",
            "scope": {"kinds": ["post", "reply"], "public_only": True, "languages": ["en"]},
            "fields": ["post_id", "account_id", "created_at", "text", "like_count"],
            "transforms": {"redact": True, "pseudonymize": True, "coarsen_timestamps": "day"},
            "price_model": "per_record",
            "deletion_sla_days": 21,
        },
        "collaborator": {"id": "northwind-ai", "name": "Northwind AI Ltd", "country": "GB"},
        "cutoff": "2024-12-15T00:00:00+00:00",
        "as_of": "2024-12-15T00:05:00+00:00",
        "created_at": "2024-12-15T00:06:30+00:00",
        "engine": "embedded",
        "software": {"name": "consentry", "version": "0.1.0"},
        "counts": {
            "scanned": delivered + excluded_total,
            "in_scope": delivered + excluded_total - EXCLUDED["out_of_scope"],
            "excluded": dict(EXCLUDED),
            "delivered": delivered,
        },
        "shards": listed,
        "schema": [
            {"name": f.name, "type": str(f.type), "description": DESCRIPTIONS[f.name]}
            for f in schema
        ],
        "transforms": [
            {
                "name": "redact",
                "description": "Emails, phones, IPs, cards, addresses and "
                "personal URLs replaced by [EMAIL], [PHONE], [IP], [CARD], [ADDRESS], [URL].",
            },
            {"name": "pseudonymize", "description": "HMAC-SHA256 under the collaborator's key."},
            {"name": "coarsen_timestamps", "description": "created_at truncated to the day."},
        ],
        "consent_summary": [
            {"jurisdiction": "DE", "delivered": 1, "excluded": 20},
            {"jurisdiction": "US-CA", "delivered": delivered - 1, "excluded": excluded_total - 20},
        ],
        "consent_basis_summary": {"event": 1, "policy_default": delivered - 1},
    }


def build_delivery(
    out_dir: Path,
    key: Ed25519PrivateKey,
    *,
    shards: int = 2,
    rows: int = 3,
    **overrides: Any,
) -> dict[str, Any]:
    """Shards, croissant.json, DATASHEET.md, then the signed manifest (last, as the export)."""
    manifest = base_manifest(out_dir, shards, rows) | overrides
    write_croissant(out_dir, Manifest.model_validate(manifest))
    write_datasheet(out_dir, Manifest.model_validate(manifest))
    write_signed_manifest(out_dir, Manifest.model_validate(manifest), key)
    return manifest
