"""The embedded engine judges the whole scan in one query; the per-batch function (what Spark
runs in ``mapInArrow``) gives the same records, members and counts, batch by batch."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from export_platform import Platform

from consentry.errors import InvalidInput
from consentry.pipeline.counts import KEYS, total_counts
from consentry.pipeline.engines.embedded import EmbeddedEngine
from consentry.pipeline.export import plan_export
from consentry.pipeline.plan import ExportPlan
from consentry.pipeline.sources import SourceSpec
from consentry.pipeline.transform import SCAN_SCHEMA, BatchJudge, BatchOutput
from consentry.store.arrow_io import read_batches


def _plan(platform: Platform, out: Path, source: SourceSpec | None = None) -> ExportPlan:
    return plan_export(
        platform.engine,
        platform.settings,
        license_id="nw-all",
        cutoff=platform.cutoff,
        out_dir=out,
        source=source,
    )


def _joined(outputs: list[BatchOutput]) -> tuple[pa.Table, pa.Table, pa.Table]:
    return (
        pa.concat_tables([o.records for o in outputs]),
        pa.concat_tables([o.members for o in outputs]),
        # Groups in any order: the manifest reads totals off them.
        total_counts([o.counts for o in outputs]).sort_by([(k, "ascending") for k in KEYS]),
    )


def _per_batch(plan: ExportPlan) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The per-batch function over the source's id-ordered batches, cut into batches of 3."""
    judge = BatchJudge(plan.context)
    posts = pa.Table.from_batches(list(plan.source.batches()), schema=SCAN_SCHEMA)
    batches = posts.to_batches(max_chunksize=3)
    assert len(batches) > 3
    return _joined([judge(batch) for batch in batches])


@pytest.mark.parametrize("source", ["store", "parquet"])
def test_the_whole_scan_query_equals_the_per_batch_function(
    platform: Platform, tmp_path: Path, source: str
) -> None:
    spec = None
    if source == "parquet":
        posts = pa.Table.from_batches(
            list(read_batches(platform.engine, table="posts", schema=SCAN_SCHEMA))
        )
        pq.write_table(posts.sort_by([("text", "descending")]), tmp_path / "posts.parquet")
        spec = SourceSpec.parse(f"parquet:{tmp_path / 'posts.parquet'}")
    plan = _plan(platform, tmp_path / "out", spec)
    expected = _per_batch(plan)
    records, members, counts = _joined(list(EmbeddedEngine(threads=2).execute(plan)))
    assert records.num_rows > 0
    assert records.equals(expected[0])
    assert members.equals(expected[1])
    assert counts.equals(expected[2])
    assert members.column("post_id").to_pylist() == sorted(members.column("post_id").to_pylist())


def test_a_refused_lake_row_stops_the_whole_scan_query(platform: Platform, tmp_path: Path) -> None:
    posts = pa.Table.from_batches(
        list(read_batches(platform.engine, table="posts", schema=SCAN_SCHEMA))
    )
    i = posts.schema.get_field_index("visibility")
    bad = posts.set_column(
        i, "visibility", pa.array(["public"] * (posts.num_rows - 1) + ["friends"])
    )
    pq.write_table(bad, tmp_path / "posts.parquet")
    plan = _plan(platform, tmp_path / "out", SourceSpec.parse(f"parquet:{tmp_path}/posts.parquet"))
    with pytest.raises(InvalidInput, match=r"visibility 'friends'.*allowed: public") as raised:
        list(EmbeddedEngine().execute(plan))
    assert raised.value.where == str(tmp_path / "posts.parquet")


@pytest.mark.parametrize("delivered", [True, False])
def test_a_post_the_lake_holds_twice_is_refused_delivered_or_not(
    platform: Platform, tmp_path: Path, delivered: bool
) -> None:
    """The engine sorts only what it delivers; a repeated excluded post is found all the same
    (by a hash of every id, looked up again in the lake)."""
    posts = pa.Table.from_batches(
        list(read_batches(platform.engine, table="posts", schema=SCAN_SCHEMA))
    )
    plan = _plan(platform, tmp_path / "plan")
    delivered_ids = set(
        pa.concat_tables([o.members for o in EmbeddedEngine().execute(plan)])
        .column("post_id")
        .to_pylist()
    )
    ids = posts.column("id").to_pylist()
    twice = next(i for i in ids if (i in delivered_ids) == delivered)
    lake = pa.concat_tables([posts, posts.filter(pc.equal(posts["id"], twice))])
    pq.write_table(lake, tmp_path / "posts.parquet")
    spec = SourceSpec.parse(f"parquet:{tmp_path}/posts.parquet")
    plan = _plan(platform, tmp_path / "out", spec)
    with pytest.raises(InvalidInput, match=f"post '{twice}' more than once"):
        list(EmbeddedEngine().execute(plan))
