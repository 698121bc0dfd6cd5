"""The Spark engine: the same per-batch function (``transform.BatchJudge``) in ``mapInArrow``
on Spark executors; the driver writes the shards.

Posts. A Parquet lake (``--source parquet:PATH``) is read by Spark itself, only the lake columns
and with the cut-off pushed into the Parquet scan; each executor maps its rows onto the post
columns with the very SQL of the embedded engine (``LakeTable.posts``). The store, a Delta or an
Iceberg table are read by their own source on the driver (the store's ADBC scan; deltalake and
pyiceberg, which apply deletion vectors, delete files and schema evolution that Spark would need
extra jars for) and staged as Parquet for Spark, streamed, so memory stays bounded.

Order. Each batch is judged where Spark read it, split into its ascending runs of post ids (or
sorted) in the Python worker (Arrow and Spark compare strings bytewise, as the store's ``COLLATE
"C"``). The judged output of each batch is three Arrow tables (records, members, counts)
serialized as Arrow IPC into three binary columns of one row, with the batch's first and last
post id: one Arrow schema out of ``mapInArrow``. It is persisted on the executors. When no two
batches' id ranges overlap (a lake in id order, staged posts; a batch read across two files is
split into its ascending runs), the output alone is range-partitioned by first id; otherwise it
is dropped and the posts are range-partitioned and sorted by id before judging. The driver reads
the ordered output partition by partition (``toLocalIterator``: one partition in driver memory
at a time) and writes shards with the same ``ShardWriter`` as the embedded engine. So both
engines deliver the same files, and a resumed run skips the finished shards the same way.

The consent snapshot travels in the broadcast context when it is at most ``broadcast_limit``
bytes; above that it is joined onto the posts by author (a shuffle join) and each batch is judged
against the snapshot rows of its own authors, which gives the same verdicts.
With a broadcast snapshot, the text of a post whose author shares nothing is blanked in the JVM
(``_blank_unshared_texts``): such a post is excluded whatever it says.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import math
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from consentry.domain import consent_bulk
from consentry.errors import InvalidInput, MissingDependency
from consentry.pipeline import pause
from consentry.pipeline.plan import ExportPlan
from consentry.pipeline.sources import LakeTable, ParquetSource
from consentry.pipeline.transform import SCAN_SCHEMA, BatchJudge, BatchOutput

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

NAME = "spark"
DEFAULT_MASTER = "local[2]"
TASK_ATTEMPTS = 4
"""A task whose Python worker died (or that failed otherwise) is tried this many times."""
DRIVER_MEMORY = "4g"
"""The driver's heap when Consentry starts the session (``spark.driver.memory`` overrides it):
in local mode the driver is the executor too and holds the snapshot, its broadcast and the
judged output's cached partitions; Spark's default of 1g ran out at 5M posts (so did 2g, on the
second export of a session)."""
DEFAULT_BROADCAST_LIMIT = 256 * 2**20
"""Snapshots up to this many bytes are broadcast; larger ones are joined onto the posts."""
ROWS_PER_PARTITION = 500_000
STAGED_FILE_ROWS = 1_048_576
SNAPSHOT_PREFIX = "__snapshot_"
SHARING, SHARES = "__sharing_account_id", "__shares"
MAX_RUNS = 8
"""A batch with more ascending runs of ids than this is sorted instead (a lake in no order)."""
OUTPUT_SCHEMA = "records binary, members binary, counts binary, first string, last string"


def with_retries(master: str) -> str:
    """Spark's local mode ignores ``spark.task.maxFailures``; ``local[N,F]`` sets it."""
    if master == "local":
        return f"local[1,{TASK_ATTEMPTS}]"
    found = re.fullmatch(r"local\[(\d+|\*)\]", master)
    return f"local[{found.group(1)},{TASK_ATTEMPTS}]" if found else master


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """The active session (spark-submit's, a notebook's, a test's), or a new one on ``master``
    (default ``local[2]``) whose Python workers run this interpreter."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise MissingDependency("pyspark", "spark", "--engine spark") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("consentry-export")
    if master or "PYSPARK_GATEWAY_PORT" not in os.environ:  # spark-submit chose one already
        builder = builder.master(with_retries(master or DEFAULT_MASTER))
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.task.maxFailures": str(TASK_ATTEMPTS),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "262144",
        "spark.driver.memory": DRIVER_MEMORY,
        **(conf or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass(frozen=True)
class SparkEngine:
    """Executes a plan on Spark: ``master`` (default: the active session's, else
    ``local[2]``), extra Spark ``conf``, a snapshot ``broadcast_limit`` in bytes, the number of
    range ``partitions`` (default: by the posts to scan), a ``staging`` directory for sources
    Spark does not read itself (on a cluster: shared storage every executor can read)."""

    master: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    broadcast_limit: int = DEFAULT_BROADCAST_LIMIT
    partitions: int | None = None
    staging: Path | None = None
    name: str = NAME

    def execute(self, plan: ExportPlan) -> Iterator[BatchOutput]:
        spark = spark_session(self.master, self.conf)
        with contextlib.ExitStack() as stack:
            staging = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="consentry-spark-", dir=self.staging)
            )
            posts, lake = _posts(spark, plan, Path(staging))
            ctx = plan.context
            joined: pa.Schema | None = None
            if ctx.snapshot.nbytes > self.broadcast_limit:
                joined = ctx.snapshot.schema
                posts = _join_snapshot(spark, posts, ctx.snapshot, lake)
                ctx = dataclasses.replace(ctx, snapshot=ctx.snapshot.schema.empty_table())
            else:
                posts = _blank_unshared_texts(spark, posts, ctx.snapshot, lake)
            id_column = lake.columns["id"] if lake else "id"
            assert id_column is not None
            partitions = functools.partial(self._partitions, spark, plan)
            # Destroyed when done: a session that runs export after export (a service, a
            # benchmark) would otherwise keep every export's snapshot in the driver's heap.
            context = spark.sparkContext.broadcast(ctx)
            stack.callback(context.destroy)
            judge = functools.partial(
                judge_partition,
                key=uuid.uuid4().hex,
                context=context,
                lake=(lake.where, lake.dataset.schema, lake.columns) if lake else None,
                joined=joined,
                id_column=id_column,
                paused_at=pause.pause_directory(),
            )
            judged = None
            if joined is None:  # the joined posts come in author order: never in id order
                judged = _judge(
                    posts.mapInArrow(functools.partial(judge, ordered=False), OUTPUT_SCHEMA)
                )
                ranges = judged.select("first", "last").collect()  # in partition order
                if _ascending(ranges):  # read in id order (a lake in id order, in one file)
                    output = judged
                elif _ascending(sorted(ranges)):  # runs in id order, read in another order
                    output = judged.repartitionByRange(partitions(), "first").sortWithinPartitions(
                        "first"
                    )
                else:
                    judged.unpersist()
                    judged = None
            if judged is None:
                ordered = posts.repartitionByRange(partitions(), id_column).sortWithinPartitions(
                    id_column
                )
                judged = output = _judge(
                    ordered.mapInArrow(functools.partial(judge, ordered=True), OUTPUT_SCHEMA)
                )
            try:
                for row in output.toLocalIterator(prefetchPartitions=True):
                    yield BatchOutput(
                        records=_table(row.records),
                        members=_table(row.members),
                        counts=_table(row.counts),
                    )
            finally:
                judged.unpersist()

    def _partitions(self, spark: SparkSession, plan: ExportPlan) -> int:
        """How many range partitions the posts (or the judged runs) are put in order in."""
        return self.partitions or max(
            2 * spark.sparkContext.defaultParallelism,
            math.ceil(plan.source.count() / ROWS_PER_PARTITION),
        )


def _ascending(ranges: list[Any]) -> bool:
    """No two (first, last) ranges of post ids overlap, in the order given."""
    return all(a.last < b.first for a, b in itertools.pairwise(ranges))


def _judge(judged: DataFrame) -> DataFrame:
    """``judged`` persisted on the executors and computed, every partition in parallel; an
    executor's InvalidInput raised as the driver's own."""
    from pyspark import StorageLevel
    from pyspark.errors import PythonException

    judged = judged.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        judged.count()
    except PythonException as exc:
        judged.unpersist()
        invalid = _invalid_input(exc)
        if invalid is None:
            raise
        raise invalid from exc
    return judged


def _posts(
    spark: SparkSession, plan: ExportPlan, staging: Path
) -> tuple[DataFrame, LakeTable | None]:
    """The posts created by the cut-off as a DataFrame: a Parquet lake's own columns (mapped on
    the executors), or the source's posts staged as Parquet."""
    source = plan.source
    if isinstance(source, ParquetSource):
        table = source.table
        lake_columns = sorted({c for c in table.columns.values() if c is not None})
        created = table.columns["created_at"]
        assert created is not None
        frame = spark.read.parquet(str(source.path)).select(*lake_columns)
        return frame.where(_created_by(frame, created, plan)), table
    writer: pq.ParquetWriter | None = None
    rows = files = 0
    try:
        for batch in source.batches():
            if writer is None or rows >= STAGED_FILE_ROWS:
                if writer is not None:
                    writer.close()
                writer = pq.ParquetWriter(staging / f"posts-{files:05d}.parquet", SCAN_SCHEMA)
                rows, files = 0, files + 1
            writer.write_batch(batch)
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        pq.write_table(SCAN_SCHEMA.empty_table(), staging / "posts-00000.parquet")
    return spark.read.parquet(str(staging)), None


def _created_by(frame: DataFrame, column: str, plan: ExportPlan) -> Any:
    """``column <= cut-off``, a literal of the column's own type, so Spark pushes it into the
    Parquet scan (a naive lake timestamp is UTC, as in the embedded engine)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType

    moment = plan.cutoff.astimezone(UTC)
    if isinstance(frame.schema[column].dataType, TimestampNTZType):
        return F.col(column) <= F.lit(moment.replace(tzinfo=None)).cast("timestamp_ntz")
    return F.col(column) <= F.lit(moment)


def _blank_unshared_texts(
    spark: SparkSession, posts: DataFrame, snapshot: pa.Table, lake: LakeTable | None
) -> DataFrame:
    """The text of each post whose author shares nothing (no author pseudonym in the snapshot:
    deleted, a minor, protected, or no consent at either moment) as '', so that only the texts
    that may be delivered travel to the Python workers (in the benchmark, 14% of the posts are
    delivered). Such a post is excluded whatever its text, and no verdict, count or record reads
    the text of an excluded post; a missing text is kept, to be refused as by the embedded
    engine. A broadcast hash join keeps each partition's rows in the order they were read."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    text = lake.columns["text"] if lake else "text"
    account = lake.columns["account_id"] if lake else "account_id"
    if text is None or account is None or not isinstance(posts.schema[text].dataType, StringType):
        return posts
    sharing = snapshot.filter(pc.is_valid(snapshot["author_pseudonym"])).select(["account_id"])
    frame = spark.createDataFrame(
        sharing.rename_columns([SHARING]).append_column(
            SHARES, pa.array([True] * sharing.num_rows, pa.bool_())
        )
    )
    joined = posts.join(F.broadcast(frame), posts[account] == frame[SHARING], "left")
    kept = F.when(F.col(SHARES) | F.col(text).isNull(), F.col(text)).otherwise(F.lit(""))
    return joined.select(*(kept.alias(c) if c == text else posts[c] for c in posts.columns))


def _join_snapshot(
    spark: SparkSession, posts: DataFrame, snapshot: pa.Table, lake: LakeTable | None
) -> DataFrame:
    """The posts with their author's snapshot row (columns prefixed), for a snapshot too large
    to broadcast."""
    renamed = snapshot.rename_columns([SNAPSHOT_PREFIX + n for n in snapshot.column_names])
    account = lake.columns["account_id"] if lake else "account_id"
    assert account is not None
    frame = spark.createDataFrame(renamed)
    return posts.join(frame, posts[account] == frame[SNAPSHOT_PREFIX + "account_id"], "left")


# --- On the executors ----------------------------------------------------------------------------

_judges: dict[str, BatchJudge] = {}
"""One judge per Python worker and execution (``key``); a reused worker keeps it across
tasks."""


def _judge_for(key: str, context: Any) -> BatchJudge:
    judge = _judges.get(key)
    if judge is None:
        _judges.clear()
        judge = _judges[key] = BatchJudge(context.value)
    return judge


def judge_partition(
    batches: Iterable[pa.RecordBatch],
    *,
    key: str,
    context: Any,
    lake: tuple[str, pa.Schema, dict[str, str | None]] | None,
    joined: pa.Schema | None,
    id_column: str,
    ordered: bool,
    paused_at: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``'s function: one partition's batches in, per batch one row of the judged
    output (records, members, counts as Arrow IPC; the first and last post id) out. ``ordered``:
    the partition comes sorted by id (a repeated id is refused across its batches); otherwise
    each batch is split into its ascending runs (or sorted) and each run checked on its own (the
    driver checks that the runs do not overlap). ``paused_at``: the crash tests' pause points
    (``pipeline.pause``), from the driver's environment."""
    judge = _judge_for(key, context)
    table = LakeTable(lake[0], ds.dataset(lake[1].empty_table()), lake[2]) if lake else None
    con = consent_bulk.connect(threads=1)
    last: str | None = None
    try:
        for whole in batches:
            if not whole.num_rows:
                continue
            if last is None:
                pause.pause(pause.SPARK_TASK, paused_at)
            for batch in [whole] if ordered else _runs(whole, id_column):
                snapshot = None
                if joined is not None:
                    batch, snapshot = _split(batch, joined)
                if table is not None:
                    posts = table.posts(con, batch, last if ordered else None)
                else:
                    posts = pa.Table.from_batches([batch]).cast(SCAN_SCHEMA).combine_chunks()
                first, last = posts.column(0)[0].as_py(), posts.column(0)[-1].as_py()
                output = judge(posts, snapshot)
                yield pa.record_batch(
                    [
                        *(
                            pa.array([_ipc(t)], pa.binary())
                            for t in (output.records, output.members, output.counts)
                        ),
                        pa.array([first], pa.string()),
                        pa.array([last], pa.string()),
                    ],
                    names=["records", "members", "counts", "first", "last"],
                )
    finally:
        con.close()


def _runs(batch: pa.RecordBatch, id_column: str) -> list[pa.RecordBatch]:
    """A batch's ascending runs of ids (a batch read across two files in id order is two runs),
    or, with more than ``MAX_RUNS``, the batch sorted by id."""
    ids = batch.column(id_column)
    starts = pc.indices_nonzero(pc.less(ids.slice(1), ids.slice(0, len(ids) - 1))).to_pylist()
    if len(starts) >= MAX_RUNS:
        return [batch.take(pc.sort_indices(batch, [(id_column, "ascending")]))]
    bounds = [0, *(i + 1 for i in starts), batch.num_rows]
    return [batch.slice(start, end - start) for start, end in itertools.pairwise(bounds)]


def _split(batch: pa.RecordBatch, snapshot_schema: pa.Schema) -> tuple[pa.RecordBatch, pa.Table]:
    """A joined batch -> its posts and the distinct snapshot rows of its authors."""
    names = batch.schema.names
    own = [n for n in names if not n.startswith(SNAPSHOT_PREFIX)]
    rows = pa.Table.from_batches([batch]).select(
        [SNAPSHOT_PREFIX + n for n in snapshot_schema.names]
    )
    rows = rows.rename_columns(snapshot_schema.names)
    rows = rows.filter(pc.is_valid(rows["account_id"]))
    first = pc.index_in(pc.unique(rows["account_id"]), value_set=rows["account_id"])
    return batch.select(own), rows.take(first).cast(snapshot_schema)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def _invalid_input(exc: Exception) -> InvalidInput | None:
    """An executor's InvalidInput (a bad lake row) as the driver's own, with its message."""
    found = re.search(r"consentry\.errors\.InvalidInput: (.+)", str(exc))
    return InvalidInput(found.group(1).strip()) if found else None


__all__ = ["NAME", "SparkEngine", "judge_partition", "spark_session", "with_retries"]
