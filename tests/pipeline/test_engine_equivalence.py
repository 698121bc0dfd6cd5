"""The Spark engine delivers what the embedded engine delivers: the same shards byte for byte,
the same members and counts, manifests equal but for the engine and the delivery's own identity
and times; also for a delta, for a snapshot joined instead of broadcast, after the export was
killed mid-way and resumed on Spark, and when a Python worker dies mid-task. Both kills land
at a pause point (``pipeline.pause``), never after a sleep: a fast export would be over first.

One local SparkSession (``local[2,4]``: two cores, four attempts per task) for the module.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake
from export_platform import CUTOFF, Platform, build_platform
from pause_points import hold, paused, release
from sqlalchemy import Engine, insert

from consentry.errors import InvalidInput
from consentry.pipeline import pause
from consentry.pipeline.engines import spark as spark_engine
from consentry.pipeline.engines.spark import SparkEngine, spark_session
from consentry.pipeline.export import ExportResult, run_export
from consentry.pipeline.sources import SourceSpec
from consentry.pipeline.transform import SCAN_SCHEMA
from consentry.pipeline.verify import verify_delivery
from consentry.settings import Settings
from consentry.store.arrow_io import read_batches
from consentry.store.db import make_engine, session_scope
from consentry.store.deliveries import completed_shards, members_of, running_delivery_at
from consentry.store.models import Post

pytestmark = pytest.mark.slow

EXTRA_POSTS = 6_000
SHARD_ROWS = 1_024
IDENTITY_AND_TIMES = {"delivery_id", "as_of", "created_at", "engine", "signature", "documents"}
"""What two deliveries of the same records may differ in: which delivery, when it was made,
by which engine, and the signature and metadata files that name those."""


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture
def platform(sqlite_engine: Engine, tmp_path: Path) -> Platform:
    build_platform(sqlite_engine, extra_posts=EXTRA_POSTS)
    return Platform(sqlite_engine, Settings(home=tmp_path / "home"), CUTOFF)


def _export(platform: Platform, out: Path, **kw: Any) -> ExportResult:
    kw.setdefault("license_id", "nw-all")
    return run_export(
        platform.engine,
        platform.settings,
        cutoff=platform.cutoff,
        out_dir=out,
        shard_rows=SHARD_ROWS,
        **kw,
    )


def _members(engine: Engine, delivery_id: str) -> list[tuple[str, str, str]]:
    with session_scope(engine) as session:
        return [
            (m.post_id, m.account_id, m.record_pseudonym) for m in members_of(session, delivery_id)
        ]


def _same_delivery(embedded: ExportResult, spark: ExportResult, engine: Engine) -> None:
    shards = sorted(p.name for p in embedded.path.glob("*.parquet"))
    assert shards and sorted(p.name for p in spark.path.glob("*.parquet")) == shards
    for name in shards:  # record by record: rows, pseudonyms, redactions, in order
        assert (
            pq.read_table(spark.path / name).to_pylist()
            == pq.read_table(embedded.path / name).to_pylist()
        )
        assert (spark.path / name).read_bytes() == (embedded.path / name).read_bytes()
    assert _members(engine, spark.delivery_id) == _members(engine, embedded.delivery_id)
    assert spark.manifest.engine == "spark" and embedded.manifest.engine == "embedded"
    assert spark.manifest.counts == embedded.manifest.counts  # exclusions, reason by reason
    assert spark.manifest.to_json().keys() == embedded.manifest.to_json().keys()
    a, b = (
        {k: v for k, v in r.manifest.to_json().items() if k not in IDENTITY_AND_TIMES}
        for r in (spark, embedded)
    )
    assert a == b
    assert verify_delivery(spark.path).ok


def _store_posts(engine: Engine) -> pa.Table:
    return pa.Table.from_batches(
        list(read_batches(engine, table="posts", schema=SCAN_SCHEMA)), schema=SCAN_SCHEMA
    ).sort_by([("text", "descending")])  # a lake keeps no id order


@pytest.mark.parametrize("source", ["store", "parquet", "parquet-in-id-order", "delta"])
def test_spark_delivers_what_the_embedded_engine_delivers(
    spark: Any, platform: Platform, tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = None
    if source.startswith("parquet"):  # read by Spark itself, mapped on the executors
        lake = tmp_path / "lake"
        lake.mkdir()
        posts = _store_posts(platform.engine).rename_columns({"text": "body"})
        if source == "parquet-in-id-order":  # files of unequal sizes, which Spark packs
            posts = posts.sort_by("id")
        for i, (start, end) in enumerate([(0, 900), (900, 3_400), (3_400, posts.num_rows)]):
            pq.write_table(posts.slice(start, end - start), lake / f"part-{i}.parquet")
        spec = SourceSpec.parse(f"parquet:{lake}", ["text=body"])
    elif source == "delta":  # read by deltalake, staged for Spark
        write_deltalake(str(tmp_path / "delta"), _store_posts(platform.engine))
        spec = SourceSpec.parse(f"delta:{tmp_path / 'delta'}")
    judged: list[object] = []
    monkeypatch.setattr(spark_engine, "_judge", _spy(spark_engine._judge, judged))
    embedded = _export(platform, tmp_path / "embedded", source=spec)
    on_spark = _export(platform, tmp_path / "spark", source=spec, executor=SparkEngine())
    assert embedded.counts.delivered > 2 * SHARD_ROWS
    _same_delivery(embedded, on_spark, platform.engine)
    # Posts in id order are judged where they are read; others are judged again, sorted first.
    assert len(judged) == (2 if source == "parquet" else 1)


def _spy(function: Callable[..., Any], calls: list[object]) -> Callable[..., Any]:
    def spied(*args: Any) -> Any:
        calls.append(args)
        return function(*args)

    return spied


def test_a_post_repeated_across_files_in_id_order_is_refused_on_spark(
    spark: Any, platform: Platform, tmp_path: Path
) -> None:
    posts = _store_posts(platform.engine).sort_by("id")
    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(posts.slice(0, 3_000), lake / "part-0.parquet")
    pq.write_table(posts.slice(2_999), lake / "part-1.parquet")
    repeated = posts["id"][2_999].as_py()
    with pytest.raises(InvalidInput, match=f"post '{repeated}' more than once"):
        _export(
            platform,
            tmp_path / "spark",
            source=SourceSpec.parse(f"parquet:{lake}"),
            executor=SparkEngine(),
        )


def test_a_bad_lake_row_read_by_spark_is_the_same_clear_error(
    spark: Any, platform: Platform, tmp_path: Path
) -> None:
    posts = _store_posts(platform.engine)
    visibility = posts.schema.get_field_index("visibility")
    bad = posts.set_column(
        visibility,
        posts.schema.field(visibility),
        pa.array(["private", *posts["visibility"].to_pylist()[1:]], pa.string()),
    )
    pq.write_table(bad, tmp_path / "posts.parquet")
    spec = SourceSpec.parse(f"parquet:{tmp_path / 'posts.parquet'}")
    with pytest.raises(InvalidInput, match=r"visibility 'private'.*allowed: public"):
        _export(platform, tmp_path / "out", source=spec, executor=SparkEngine())


def test_a_missing_text_is_refused_on_spark_even_where_the_text_is_blanked(
    spark: Any, platform: Platform, tmp_path: Path
) -> None:
    # Only posts of accounts with nothing delivered lose their text: among them the accounts
    # that share nothing, whose texts Spark blanks; a missing one must stay missing.
    delivered = _export(platform, tmp_path / "embedded")
    sharing = {account for _, account, _ in _members(platform.engine, delivered.delivery_id)}
    posts = _store_posts(platform.engine)
    text = posts.schema.get_field_index("text")
    texts = [
        None if account not in sharing else value
        for account, value in zip(
            posts["account_id"].to_pylist(), posts["text"].to_pylist(), strict=True
        )
    ]
    assert None in texts
    field = posts.schema.field(text).with_nullable(True)
    bad = posts.set_column(text, field, pa.array(texts, pa.string()))
    pq.write_table(bad, tmp_path / "posts.parquet")
    spec = SourceSpec.parse(f"parquet:{tmp_path / 'posts.parquet'}")
    for engine, executor in [("embedded", None), ("spark", SparkEngine())]:
        with pytest.raises(InvalidInput, match=r"a post has no text"):
            _export(platform, tmp_path / f"out-{engine}", source=spec, executor=executor)


def test_a_snapshot_too_large_to_broadcast_is_joined_with_the_same_result(
    spark: Any, platform: Platform, tmp_path: Path
) -> None:
    embedded = _export(platform, tmp_path / "embedded", license_id="lumen-en-posts")
    joined = _export(
        platform,
        tmp_path / "joined",
        license_id="lumen-en-posts",
        executor=SparkEngine(broadcast_limit=0),
    )
    _same_delivery(embedded, joined, platform.engine)


def test_a_delta_delivery_on_spark(spark: Any, platform: Platform, tmp_path: Path) -> None:
    _export(platform, tmp_path / "full")
    with session_scope(platform.engine) as session:
        session.execute(
            insert(Post),
            [
                {
                    "id": f"y{i:05d}",
                    "account_id": "us_default",
                    "created_at": CUTOFF.replace(day=1),
                    "text": f"new post {i}, mail bo@example.org",
                    "lang": "en",
                    "visibility": "public",
                    "like_count": 0,
                    "repost_count": 0,
                    "reply_count": 0,
                }
                for i in range(1_500)
            ],
        )
    # The same database twice from here on: one delta by each engine.
    database = Path(platform.engine.url.database or "")
    copy = tmp_path / "copy.db"
    for file in database.parent.glob(database.name + "*"):  # with its -wal, if any
        shutil.copy(file, copy.with_name(copy.name + file.name[len(database.name) :]))
    other = make_engine(f"sqlite:///{copy}")
    other_platform = Platform(other, platform.settings, CUTOFF)
    embedded = _export(other_platform, tmp_path / "delta-embedded", delta=True)
    on_spark = _export(platform, tmp_path / "delta-spark", delta=True, executor=SparkEngine())
    assert on_spark.manifest.kind == "delta" and on_spark.counts.delivered == 1_500
    assert on_spark.counts.previously_delivered > 0
    assert _members(other, embedded.delivery_id) == _members(platform.engine, on_spark.delivery_id)
    _same_delivery_across(embedded, on_spark)
    other.dispose()


def _same_delivery_across(embedded: ExportResult, spark: ExportResult) -> None:
    shards = sorted(p.name for p in embedded.path.glob("*.parquet"))
    assert shards == sorted(p.name for p in spark.path.glob("*.parquet"))
    for name in shards:
        assert (spark.path / name).read_bytes() == (embedded.path / name).read_bytes()
    assert spark.manifest.counts == embedded.manifest.counts


def test_a_spark_export_killed_mid_way_is_resumed_on_spark(
    spark: Any, platform: Platform, tmp_path: Path
) -> None:
    out = tmp_path / "interrupted"
    command = [
        sys.executable,
        "-m",
        "consentry",
        "export",
        "--license",
        "nw-all",
        "--cutoff",
        CUTOFF.isoformat(),
        "--out",
        str(out),
        "--shard-rows",
        "256",
        "--engine",
        "spark",
    ]
    env = {
        **os.environ,
        "CONSENTRY_HOME": str(platform.settings.home),
        "CONSENTRY_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
    }
    # The export stops right after recording its first shard, so the kill lands mid-way
    # however fast the rest would be.
    pauses = hold(tmp_path, pause.SHARD_REGISTERED)
    env[pause.ENV] = str(pauses)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert paused(pause.SHARD_REGISTERED, pauses, process) == process.pid
    assert _registered_shards(platform.engine, out) == 1
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.json").exists()

    resumed = _resume(platform, out)
    clean = run_export(
        platform.engine,
        platform.settings,
        license_id="nw-all",
        cutoff=CUTOFF,
        out_dir=tmp_path / "clean",
        shard_rows=256,
    )
    assert resumed.manifest.engine == "spark"
    _same_delivery_across(clean, resumed)
    assert not list(out.glob("*.partial"))
    members = _members(platform.engine, resumed.delivery_id)
    assert members == _members(platform.engine, clean.delivery_id)
    assert len(set(members)) == len(members) == clean.counts.delivered


def _registered_shards(engine: Engine, out: Path) -> int:
    with session_scope(engine) as session:
        delivery = running_delivery_at(session, str(out.resolve()))
        return len(completed_shards(session, delivery.id)) if delivery else 0


def _resume(platform: Platform, out: Path) -> ExportResult:
    assert _registered_shards(platform.engine, out) >= 1
    return run_export(
        platform.engine,
        platform.settings,
        license_id="nw-all",
        cutoff=None,
        out_dir=out,
        shard_rows=256,
        resume=True,
        executor=SparkEngine(),
    )


def _python_workers() -> list[psutil.Process]:
    """Spark's forked Python workers under this process (children of ``pyspark.daemon``)."""
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            parent = process.parent()
            if parent and "pyspark.daemon" in " ".join(parent.cmdline()):
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_a_python_worker_killed_mid_task_is_retried_with_the_same_delivery(
    spark: Any, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded = _export(platform, tmp_path / "embedded")
    tracker = spark.sparkContext.statusTracker()
    # A task's Python worker stops before its first batch; it is killed there, then the others
    # and the retried task run through.
    pauses = hold(tmp_path, pause.SPARK_TASK)
    monkeypatch.setenv(pause.ENV, str(pauses))
    killed: list[int] = []
    stages: list[int] = []

    def kill_the_paused_worker() -> None:
        try:
            pid = paused(pause.SPARK_TASK, pauses)
            stages.extend(tracker.getActiveStageIds())
            for worker in _python_workers():
                if worker.pid == pid:
                    worker.kill()
                    worker.wait(60)
                    killed.append(pid)
        finally:
            release(pauses, pause.SPARK_TASK)

    killer = threading.Thread(target=kill_the_paused_worker, daemon=True)
    killer.start()
    try:
        retried = _export(platform, tmp_path / "retried", executor=SparkEngine(partitions=2))
    finally:
        release(pauses, pause.SPARK_TASK)
        killer.join()
    assert killed, "the paused process was not one of Spark's Python workers"
    failed = [tracker.getStageInfo(s) for s in stages]  # the stage the kill fell in
    assert sum(i.numFailedTasks for i in failed if i) >= 1
    _same_delivery(embedded, retried, platform.engine)
