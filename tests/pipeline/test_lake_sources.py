"""Exports whose posts come from a lake table (Parquet, Delta) give the store's delivery."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake
from export_platform import CUTOFF, Platform, U
from sqlalchemy import Engine, insert

from consentry.errors import InvalidInput
from consentry.pipeline.export import ExportResult, run_export
from consentry.pipeline.keys import pseudonym_key
from consentry.pipeline.pseudonymize import pseudonym
from consentry.pipeline.sources import ParquetSource, SourceSpec, parse_column_mapping
from consentry.pipeline.transform import SCAN_SCHEMA
from consentry.store.arrow_io import read_batches
from consentry.store.db import session_scope
from consentry.store.models import Post
from consentry.store.parties import add_license


def _store_posts(engine: Engine) -> pa.Table:
    """The store's posts table as the platform's lake would hold it (every post, any order)."""
    table = pa.Table.from_batches(
        list(read_batches(engine, table="posts", schema=SCAN_SCHEMA)), schema=SCAN_SCHEMA
    )
    return table.take(pc.sort_indices(table, [("text", "descending")]))  # not id order


def _write_parquet_dir(table: pa.Table, path: Path, files: int = 3) -> Path:
    path.mkdir(parents=True)
    step = -(-table.num_rows // files)
    for i in range(files):
        pq.write_table(table.slice(i * step, step), path / f"part-{i}.parquet")
    return path


def _export(platform: Platform, out: Path, **kw: Any) -> ExportResult:
    kw.setdefault("license_id", "nw-all")
    return run_export(platform.engine, platform.settings, cutoff=platform.cutoff, out_dir=out, **kw)


def _records(out: Path) -> list[dict[str, Any]]:
    return [row for s in sorted(out.glob("*.parquet")) for row in pq.read_table(s).to_pylist()]


def _same_delivery(a: ExportResult, b: ExportResult) -> None:
    assert _records(a.path) == _records(b.path)
    assert a.counts == b.counts
    assert a.manifest.consent_summary == b.manifest.consent_summary
    assert [s.rows for s in a.manifest.shards] == [s.rows for s in b.manifest.shards]


@pytest.mark.parametrize("license_id", ["nw-all", "lumen-en-posts"])
def test_a_parquet_lake_gives_the_store_delivery(
    platform: Platform, tmp_path: Path, license_id: str
) -> None:
    lake = _write_parquet_dir(_store_posts(platform.engine), tmp_path / "lake")
    store = _export(platform, tmp_path / "store", license_id=license_id)
    parquet = _export(
        platform,
        tmp_path / "parquet",
        license_id=license_id,
        source=SourceSpec.parse(f"parquet:{lake}"),
    )
    assert store.counts.delivered > 0
    _same_delivery(store, parquet)


def test_a_delta_table_gives_the_store_delivery(platform: Platform, tmp_path: Path) -> None:
    write_deltalake(str(tmp_path / "posts"), _store_posts(platform.engine))
    store = _export(platform, tmp_path / "store")
    delta = _export(
        platform, tmp_path / "delta", source=SourceSpec.parse(f"delta:{tmp_path / 'posts'}")
    )
    _same_delivery(store, delta)


def test_a_lake_with_other_names_and_fewer_columns_works_with_a_mapping(
    platform: Platform, tmp_path: Path
) -> None:
    posts = _store_posts(platform.engine)
    renamed = posts.drop_columns(
        ["kind", "original_id", "like_count", "repost_count", "reply_count"]
    )
    renamed = renamed.rename_columns(
        {"text": "body", "account_id": "author_id", "created_at": "ts"}
    )
    write_deltalake(str(tmp_path / "posts"), renamed)
    store = _export(platform, tmp_path / "store")
    spec = SourceSpec.parse(
        f"delta:{tmp_path / 'posts'}",
        ["text=body", "account_id=author_id", "created_at=ts"],
    )
    mapped = _export(platform, tmp_path / "mapped", source=spec)
    _same_delivery(store, mapped)  # kind came from reply_to, the counts are 0 as stored


def test_quotes_carry_originals_read_from_the_same_lake(platform: Platform, tmp_path: Path) -> None:
    d = datetime(2024, 11, 21, tzinfo=UTC)
    with session_scope(platform.engine) as session:
        session.execute(
            insert(Post),
            [
                {
                    "id": "q01",
                    "account_id": "de_yes",
                    "created_at": d,
                    "text": "look at this",
                    "lang": "en",
                    "visibility": "public",
                    "kind": "quote",
                    "original_id": "p01",
                    "like_count": 0,
                    "repost_count": 0,
                    "reply_count": 0,
                }
            ],
        )
        add_license(
            session,
            id="nw-quotes",
            collaborator_id="northwind-ai",
            purpose=U,
            scope={},
            term_start=datetime(2024, 1, 1, tzinfo=UTC),
            actor="test",
        )
    posts = _store_posts(platform.engine)
    pq.write_table(posts, tmp_path / "posts.parquet")
    store = _export(platform, tmp_path / "store", license_id="nw-quotes")
    lake = _export(
        platform,
        tmp_path / "lake",
        license_id="nw-quotes",
        source=SourceSpec.parse(f"parquet:{tmp_path / 'posts.parquet'}"),
    )
    _same_delivery(store, lake)
    key = pseudonym_key(platform.settings.home, "northwind-ai")
    quote = next(r for r in _records(lake.path) if r["record_id"] == pseudonym(key, "post:q01"))
    assert quote["quoted_text"].startswith("hello from")

    # The original's text is the lake's, not the store's.
    texts = pc.if_else(pc.equal(posts["id"], "p01"), "said in the lake", posts["text"])
    changed = posts.set_column(posts.schema.get_field_index("text"), "text", texts)
    pq.write_table(changed, tmp_path / "changed.parquet")
    other = _export(
        platform,
        tmp_path / "changed",
        license_id="nw-quotes",
        source=SourceSpec.parse(f"parquet:{tmp_path / 'changed.parquet'}"),
    )
    quote = next(r for r in _records(other.path) if r["record_id"] == pseudonym(key, "post:q01"))
    assert quote["quoted_text"] == "said in the lake"


def test_the_cutoff_is_pushed_down_into_the_lake_scan(platform: Platform, tmp_path: Path) -> None:
    posts = _store_posts(platform.engine)
    late = pc.greater(posts["created_at"], pa.scalar(CUTOFF, posts.schema.field("created_at").type))
    assert pc.sum(late).as_py() == 1  # p05
    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(posts.filter(pc.invert(late)), lake / "early.parquet")
    # A file of posts after the cut-off only, one of them without a visibility: reading it
    # would be an error, so the filter must keep it out of the scan.
    after = posts.filter(late).to_pylist()
    after.append({**after[0], "id": "p99", "created_at": CUTOFF + timedelta(days=2)})
    after_table = pa.Table.from_pylist(
        after,
        schema=posts.schema.set(
            posts.schema.get_field_index("visibility"), pa.field("visibility", pa.string())
        ),
    )
    after_table = after_table.set_column(
        after_table.schema.get_field_index("visibility"),
        "visibility",
        pa.array([None] * after_table.num_rows, pa.string()),
    )
    pq.write_table(after_table, lake / "late.parquet")

    source = ParquetSource(lake, CUTOFF)
    assert source.count() == posts.num_rows - 1
    ids = [i for b in source.batches() for i in b.column("id").to_pylist()]
    assert ids == sorted(ids) and "p05" not in ids and "p99" not in ids
    result = _export(platform, tmp_path / "out", source=SourceSpec.parse(f"parquet:{lake}"))
    assert result.counts.scanned == 13  # as from the store: p05 and p99 were never scanned


def test_a_missing_visibility_is_an_error_never_public(platform: Platform, tmp_path: Path) -> None:
    posts = _store_posts(platform.engine).drop_columns(["visibility"])
    pq.write_table(posts, tmp_path / "posts.parquet")
    out = tmp_path / "out"
    with pytest.raises(InvalidInput, match="visibility") as raised:
        _export(platform, out, source=SourceSpec.parse(f"parquet:{tmp_path / 'posts.parquet'}"))
    message = str(raised.value)
    assert "never assumed public" in message and "--column visibility=" in message
    assert str(tmp_path / "posts.parquet") in message
    assert not out.exists()  # checked before a delivery was started


def test_bad_lake_tables_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such Parquet file"):
        SourceSpec.parse(f"parquet:{tmp_path / 'nowhere'}").check()
    with pytest.raises(InvalidInput, match="no Delta table"):
        SourceSpec.parse(f"delta:{tmp_path}").check()
    write_deltalake(str(tmp_path / "delta"), pa.table({"id": ["p1"]}))
    with pytest.raises(InvalidInput, match="--source delta:PATH"):
        SourceSpec.parse(f"parquet:{tmp_path / 'delta'}").check()
    table = pa.table(
        {
            "id": ["p1"],
            "account_id": ["a"],
            "created_at": ["2024-11-01"],
            "text": ["t"],
            "visibility": ["public"],
        }
    )
    pq.write_table(table, tmp_path / "strings.parquet")
    with pytest.raises(InvalidInput, match="'created_at' is string, expected a timestamp"):
        SourceSpec.parse(f"parquet:{tmp_path / 'strings.parquet'}").check()
    when = pa.array([CUTOFF], pa.timestamp("us", tz="UTC"))
    table = table.set_column(2, "created_at", when)
    pq.write_table(table.drop_columns(["text"]), tmp_path / "notext.parquet")
    with pytest.raises(InvalidInput, match="no column 'body' for the post column 'text'"):
        SourceSpec.parse(f"parquet:{tmp_path / 'notext.parquet'}", ["text=body"]).check()


def test_source_and_column_arguments_are_checked() -> None:
    assert SourceSpec.parse("store") == SourceSpec()
    assert parse_column_mapping(["text=body", "account_id = author_id"]) == {
        "text": "body",
        "account_id": "author_id",
    }
    for bad in ["lake", "parquet:", "store:x", "iceberg:t"]:
        with pytest.raises(InvalidInput, match="--source"):
            SourceSpec.parse(bad)
    for pairs in (["text"], ["body=text"], ["text=a", "text=b"]):
        with pytest.raises(InvalidInput, match="--column"):
            parse_column_mapping(pairs)
    with pytest.raises(InvalidInput, match="--column"):
        SourceSpec.parse("store", ["text=body"])


def test_the_export_command_reads_a_mapped_lake(platform: Platform, tmp_path: Path) -> None:
    posts = _store_posts(platform.engine).rename_columns({"text": "body"})
    pq.write_table(posts, tmp_path / "posts.parquet")
    env = {
        **os.environ,
        "CONSENTRY_HOME": str(platform.settings.home),
        "CONSENTRY_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
    }
    command = [
        sys.executable,
        "-m",
        "consentry",
        "export",
        "--license",
        "nw-all",
        "--cutoff",
        CUTOFF.isoformat(),
        "--source",
        f"parquet:{tmp_path / 'posts.parquet'}",
    ]
    unmapped = subprocess.run(
        [*command, "--out", str(tmp_path / "bad")], env=env, capture_output=True, text=True
    )
    assert unmapped.returncode == 1
    assert "--column text=LAKE_COLUMN" in " ".join(unmapped.stderr.split())
    done = subprocess.run(
        [*command, "--column", "text=body", "--out", str(tmp_path / "cli")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    store = _export(platform, tmp_path / "store")
    assert _records(tmp_path / "cli") == _records(store.path)


def test_naive_lake_timestamps_are_read_as_utc(platform: Platform, tmp_path: Path) -> None:
    posts = _store_posts(platform.engine)
    naive = posts
    for name in ("created_at", "deleted_at"):
        i = naive.schema.get_field_index(name)
        naive = naive.set_column(i, name, naive[name].cast(pa.timestamp("us")))
    pq.write_table(naive, tmp_path / "naive.parquet")
    read = pa.Table.from_batches(list(ParquetSource(tmp_path / "naive.parquet", CUTOFF).batches()))
    expected = posts.filter(
        pc.less_equal(posts["created_at"], pa.scalar(CUTOFF, SCAN_SCHEMA.field("created_at").type))
    )
    assert read.sort_by("id").equals(expected.sort_by("id").cast(SCAN_SCHEMA))


def test_unknown_values_and_repeated_ids_are_refused(tmp_path: Path) -> None:
    when = pa.array([CUTOFF] * 2, pa.timestamp("us", tz="UTC"))
    table = pa.table(
        {
            "id": ["p1", "p2"],
            "account_id": ["a", "a"],
            "created_at": when,
            "text": ["t", "u"],
            "visibility": ["public", "private"],
        }
    )
    pq.write_table(table, tmp_path / "private.parquet")
    with pytest.raises(InvalidInput, match=r"visibility 'private'.*allowed: public, protected"):
        list(ParquetSource(tmp_path / "private.parquet", CUTOFF).batches())
    twice = table.set_column(0, "id", pa.array(["p1", "p1"])).set_column(
        4, "visibility", pa.array(["public", "public"])
    )
    pq.write_table(twice, tmp_path / "twice.parquet")
    with pytest.raises(InvalidInput, match="post 'p1' more than once"):
        list(ParquetSource(tmp_path / "twice.parquet", CUTOFF).batches())


def _iceberg_table(tmp_path: Path, posts: pa.Table, name: str = "social.posts") -> str:
    """An Iceberg table in a SQL catalog on SQLite; returns its --source spec."""
    from pyiceberg.catalog.sql import SqlCatalog

    uri = f"sqlite:///{tmp_path / 'catalog.db'}"
    catalog = SqlCatalog("lake", uri=uri, warehouse=(tmp_path / "warehouse").as_uri())
    namespace = name.rpartition(".")[0]
    if (namespace,) not in catalog.list_namespaces():
        catalog.create_namespace(namespace)
    table = catalog.create_table(name, schema=posts.schema)
    step = -(-posts.num_rows // 3)
    for i in range(3):  # three snapshots, three data files
        table.append(posts.slice(i * step, step))
    return f"iceberg:{uri}#lake.{name}"


@pytest.mark.parametrize("license_id", ["nw-all", "lumen-en-posts"])
def test_an_iceberg_table_gives_the_store_delivery(
    platform: Platform, tmp_path: Path, license_id: str
) -> None:
    spec = _iceberg_table(tmp_path, _store_posts(platform.engine))
    store = _export(platform, tmp_path / "store", license_id=license_id)
    iceberg = _export(
        platform, tmp_path / "iceberg", license_id=license_id, source=SourceSpec.parse(spec)
    )
    assert store.counts.delivered > 0
    _same_delivery(store, iceberg)


def test_an_iceberg_scan_reads_one_snapshot_cut_off_pushed_down(
    platform: Platform, tmp_path: Path
) -> None:
    posts = _store_posts(platform.engine).rename_columns({"text": "body"})
    spec = SourceSpec.parse(_iceberg_table(tmp_path, posts), ["text=body"])
    source = spec.open(platform.engine, CUTOFF)
    # Committed after the source was opened: not seen (the snapshot was pinned).
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("lake", uri=f"sqlite:///{tmp_path / 'catalog.db'}")
    later = posts.slice(0, 1).set_column(0, posts.schema.field(0), pa.array(["p00"]))
    catalog.load_table("social.posts").append(later)

    ids = [i for b in source.batches() for i in b.column("id").to_pylist()]
    assert ids == sorted(ids) and len(ids) == source.count() == 13  # p05: after the cut-off
    assert "p05" not in ids and "p00" not in ids
    plan = catalog.load_table("social.posts").scan(row_filter=source.table._cutoff(CUTOFF))
    assert plan.count() == 14  # p00 is in the new snapshot; the filter alone keeps p05 out


def test_iceberg_sources_are_clear_errors(tmp_path: Path) -> None:
    for bad in ["iceberg:posts", "iceberg:lake.posts", "iceberg:x#lake..posts"]:
        with pytest.raises(InvalidInput, match=r"iceberg:CATALOG\.NAMESPACE\.TABLE"):
            SourceSpec.parse(bad)
    spec = _iceberg_table(tmp_path, pa.table({"id": ["p1"]}), "social.ids")
    with pytest.raises(InvalidInput, match=r"no table 'social\.nope'"):
        SourceSpec.parse(spec.replace("social.ids", "social.nope")).check()
    with pytest.raises(InvalidInput, match="no column 'account_id'"):
        SourceSpec.parse(spec).check()
    with pytest.raises(InvalidInput, match="PYICEBERG_CATALOG__NOWHERE__URI"):
        SourceSpec.parse("iceberg:nowhere.social.posts").check()
