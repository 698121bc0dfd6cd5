"""The export's counts as Arrow: each batch yields a counts table (judged rows grouped by what
the manifest counts), the driver sums those tables once, and the manifest's counts, consent
summary and basis summary are read off the total.

A table, not Python counters, so an engine that runs the batch function elsewhere (Spark's
``mapInArrow``) carries the counts in the same Arrow stream as the records.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from consentry.domain.types import REASON_ORDER
from consentry.pipeline.manifest import BasisSummary, Counts, JurisdictionSummary

QUOTED_PLACEHOLDER = "[QUOTED]"
"""What a quote carries in place of a quoted post that is not itself delivered (rule 8)."""

KEYS = (
    "skipped",
    "reason",
    "jurisdiction",
    "basis",
    "repost",
    "quote_inlined",
    "quote_masked",
)
COUNTS_SCHEMA = pa.schema(
    [
        pa.field("skipped", pa.string()),  # previously_delivered or withdrawn, else null
        pa.field("reason", pa.string()),  # the exclusion reason; null when delivered or skipped
        pa.field("jurisdiction", pa.string()),
        pa.field("basis", pa.string()),  # a delivered post's: event or policy_default
        pa.field("repost", pa.bool_()),
        pa.field("quote_inlined", pa.bool_()),
        pa.field("quote_masked", pa.bool_()),
        pa.field("rows", pa.int64()),
    ]
)


def batch_counts(judged: pa.Table) -> pa.Table:
    """The counts table of one judged batch (before skipped rows are dropped)."""
    previously, withdrawn = judged.column("previously_delivered"), judged.column("withdrawn")
    skipped = pc.if_else(
        withdrawn,
        pa.scalar("withdrawn"),
        pc.if_else(previously, pa.scalar("previously_delivered"), pa.scalar(None, pa.string())),
    )
    scanned = pc.is_null(skipped)
    delivered = pc.and_(scanned, pc.is_null(judged.column("reason")))
    basis = pc.if_else(
        delivered,
        pc.if_else(
            pc.is_valid(judged.column("basis_event_id")),
            pa.scalar("event"),
            pa.scalar("policy_default"),
        ),
        pa.scalar(None, pa.string()),
    )

    def in_scan(mask: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.fill_null(pc.and_(scanned, mask), False)

    rows = pa.table(
        {
            "skipped": skipped,
            "reason": judged.column("reason"),
            "jurisdiction": judged.column("jurisdiction"),
            "basis": basis,
            "repost": in_scan(pc.equal(judged.column("kind"), "repost")),
            "quote_inlined": in_scan(pc.is_valid(judged.column("quoted_id"))),
            "quote_masked": in_scan(pc.equal(judged.column("quoted_text"), QUOTED_PLACEHOLDER)),
        }
    )
    return _group(rows.group_by(list(KEYS), use_threads=False).aggregate([([], "count_all")]))


def total_counts(tables: Iterable[pa.Table]) -> pa.Table:
    """The sum of the batches' counts tables, one row per distinct key."""
    table = pa.concat_tables([COUNTS_SCHEMA.empty_table(), *tables])
    return _group(table.group_by(list(KEYS), use_threads=False).aggregate([("rows", "sum")]))


def _group(grouped: pa.Table) -> pa.Table:
    return pa.table(
        {
            **{key: grouped.column(key) for key in KEYS},
            "rows": pc.cast(grouped.column(grouped.num_columns - 1), pa.int64()),
        },
        schema=COUNTS_SCHEMA,
    )


def rows_read(counts: pa.Table) -> int:
    """Every post the batches read, skipped ones too (for the progress bar)."""
    return int(pc.sum(counts.column("rows")).as_py() or 0)


def manifest_counts(
    counts: pa.Table,
) -> tuple[Counts, list[JurisdictionSummary], BasisSummary]:
    """The manifest's counts, consent summary (by jurisdiction) and basis summary."""
    rows = counts.to_pylist()
    scanned_rows = [row for row in rows if row["skipped"] is None]

    def total(items: Iterable[dict[str, Any]]) -> int:
        return sum(row["rows"] for row in items)

    excluded = {
        reason.value: total(r for r in scanned_rows if r["reason"] == reason.value)
        for reason in REASON_ORDER
    }
    scanned = total(scanned_rows)
    delivered = total(r for r in scanned_rows if r["reason"] is None)
    result = Counts(
        scanned=scanned,
        in_scope=scanned - excluded["out_of_scope"],
        excluded=excluded,
        delivered=delivered,
        previously_delivered=total(r for r in rows if r["skipped"] == "previously_delivered"),
        withdrawn_after_delivery=total(r for r in rows if r["skipped"] == "withdrawn"),
        reposts_dropped=total(r for r in scanned_rows if r["repost"]),
        quotes_inlined=total(r for r in scanned_rows if r["quote_inlined"]),
        quotes_masked=total(r for r in scanned_rows if r["quote_masked"]),
    )
    places = sorted({row["jurisdiction"] for row in scanned_rows})
    summary = [
        JurisdictionSummary(
            jurisdiction=place or "unknown",
            delivered=total(
                r for r in scanned_rows if r["jurisdiction"] == place and r["reason"] is None
            ),
            excluded=total(
                r for r in scanned_rows if r["jurisdiction"] == place and r["reason"] is not None
            ),
        )
        for place in places
    ]
    basis = BasisSummary(
        event=total(r for r in scanned_rows if r["basis"] == "event"),
        policy_default=total(r for r in scanned_rows if r["basis"] == "policy_default"),
    )
    return result, summary, basis
