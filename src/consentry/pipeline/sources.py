"""Where an export reads its posts, in post-id byte order: the store's ``posts`` table
(``StoreSource``, the default) or a table in the platform's lake (``ParquetSource``,
``DeltaSource``).

A source is plain data with a ``batches()`` method yielding Arrow record batches of
``transform.SCAN_SCHEMA``, id-ordered, of the posts created by the cut-off; ``count()`` says how
many; ``quoted_originals()`` reads the posts quoted by those (rule 8) from the same table.
Accounts and the ledger always come from the store.

A lake table's columns are mapped onto the post columns (``POST_COLUMNS``) by name: by default
the canonical names; ``--column text=body`` names another. ``REQUIRED_COLUMNS`` must be there;
of the others, ``lang``, ``reply_to``, ``deleted_at`` and ``original_id`` default to null, the
three counts to 0 and ``kind`` to ``reply`` where ``reply_to`` is set, else ``post``. A missing
``visibility`` is an error, never taken as public.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from sqlalchemy import Engine, func, select, text

from consentry.domain import consent_bulk
from consentry.domain.types import PostKind, Visibility
from consentry.errors import InvalidInput
from consentry.pipeline.transform import SCAN_SCHEMA
from consentry.store.arrow_io import read_batches
from consentry.store.models import Post


class Source(Protocol):
    """Posts created by the cut-off, as Arrow batches of ``SCAN_SCHEMA`` in post-id order."""

    def batches(self) -> Iterator[pa.RecordBatch]: ...

    def count(self) -> int:
        """How many posts ``batches`` yields (for the progress bar)."""
        ...

    def quoted_originals(self) -> pa.Table:
        """Posts (``SCAN_SCHEMA``) quoted by a quote that ``batches`` yields, whenever created."""
        ...


@dataclass(frozen=True)
class StoreSource:
    """The store's posts table, streamed with ADBC."""

    engine: Engine
    cutoff: datetime
    batch_rows: int = 65_536
    _started: list[Iterator[pa.RecordBatch]] = field(
        default_factory=list, repr=False, compare=False
    )

    def start(self) -> None:
        """Start the scan now: on SQLite it runs in its own child process, so it overlaps
        whatever the caller does next (the consent snapshot); ``batches`` then hands it over."""
        if not self._started:
            self._started.append(scan_posts(self.engine, self.cutoff, self.batch_rows))

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._started:
            return self._started.pop()
        return scan_posts(self.engine, self.cutoff, self.batch_rows)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return (
                conn.scalar(
                    select(func.count())
                    .select_from(Post)
                    .where(text(cutoff_sql(self.engine, self.cutoff)))
                )
                or 0
            )

    def quoted_originals(self) -> pa.Table:
        quoted_by_scan = (
            "id IN (SELECT original_id FROM posts WHERE kind = 'quote' AND "
            f"{cutoff_sql(self.engine, self.cutoff)})"
        )
        return pa.Table.from_batches(
            list(
                read_batches(self.engine, table="posts", schema=SCAN_SCHEMA, where=quoted_by_scan)
            ),
            schema=SCAN_SCHEMA,
        )


def cutoff_sql(engine: Engine, cutoff: datetime) -> str:
    moment = cutoff.astimezone(UTC)
    if engine.dialect.name == "sqlite":
        return f"created_at <= '{moment:%Y-%m-%d %H:%M:%S.%f}'"
    return f"created_at <= '{moment.isoformat()}'::timestamptz"


def scan_posts(engine: Engine, cutoff: datetime, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Posts created by the cut-off, in post-id byte order (the same on both databases)."""
    order = "id" if engine.dialect.name == "sqlite" else 'id COLLATE "C"'
    return read_batches(
        engine,
        table="posts",
        schema=SCAN_SCHEMA,
        where=cutoff_sql(engine, cutoff),
        order_by=order,
        batch_rows=batch_rows,
    )


# --- Lake sources -------------------------------------------------------------------------------

POST_COLUMNS = (
    "id",
    "account_id",
    "created_at",
    "text",
    "lang",
    "visibility",
    "reply_to",
    "deleted_at",
    "kind",
    "original_id",
    "like_count",
    "repost_count",
    "reply_count",
)
REQUIRED_COLUMNS = ("id", "account_id", "created_at", "text", "visibility")
"""A lake table must have these. ``visibility`` above all: a post whose visibility is unknown is
never assumed public (that would deliver direct messages and protected posts)."""
_STRING_COLUMNS = {"id", "account_id", "text", "lang", "visibility", "reply_to", "kind"}
_STRING_COLUMNS |= {"original_id"}
_TIME_COLUMNS = {"created_at", "deleted_at"}
_COUNT_COLUMNS = {"like_count", "repost_count", "reply_count"}
ALLOWED_VALUES = {
    "visibility": pa.array([v.value for v in Visibility], pa.string()),
    "kind": pa.array([k.value for k in PostKind], pa.string()),
}
"""What the store's posts may hold; a lake's post with another value is refused, not guessed."""
_HOW_TO_MAP = "map it with --column {name}=LAKE_COLUMN"


def parse_column_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``["text=body", "account_id=author_id"]`` -> ``{"text": "body", ...}`` (post column ->
    lake column), checked against the post columns."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, sep, lake = pair.partition("=")
        name, lake = name.strip(), lake.strip()
        if not sep or not name or not lake:
            raise InvalidInput(f"expected POST_COLUMN=LAKE_COLUMN, got {pair!r}", field="--column")
        if name not in POST_COLUMNS:
            raise InvalidInput(
                f"{name!r} is not a post column; one of {', '.join(POST_COLUMNS)}",
                field="--column",
            )
        if name in mapping:
            raise InvalidInput(f"{name!r} is mapped twice", field="--column")
        mapping[name] = lake
    return mapping


def _is_string(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_string(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _expected(name: str) -> str:
    if name in _TIME_COLUMNS:
        return "a timestamp"
    return "an integer" if name in _COUNT_COLUMNS else "a string"


def _type_fits(name: str, t: pa.DataType) -> bool:
    if name in _TIME_COLUMNS:
        return pa.types.is_timestamp(t)
    if name in _COUNT_COLUMNS:
        return pa.types.is_integer(t)
    return _is_string(t)


@dataclass(frozen=True)
class LakeTable:
    """A lake table's posts, by post column: which lake column holds each (None: absent, the
    default applies), checked against the table's schema."""

    where: str
    dataset: ds.Dataset
    columns: dict[str, str | None]

    @classmethod
    def check(cls, where: str, dataset: ds.Dataset, mapping: Mapping[str, str]) -> LakeTable:
        schema = dataset.schema
        columns: dict[str, str | None] = {}
        for name in POST_COLUMNS:
            lake = mapping.get(name, name)
            if lake not in schema.names:
                if name in REQUIRED_COLUMNS or name in mapping:
                    mapped = f" (mapped to {lake!r})" if name in mapping else ""
                    why = (
                        "; a post's visibility is never assumed public"
                        if name == "visibility"
                        else ""
                    )
                    raise InvalidInput(
                        f"the lake table has no column {lake!r} for the post column "
                        f"{name!r}{mapped}{why}; its columns are {', '.join(schema.names)}; "
                        + _HOW_TO_MAP.format(name=name),
                        where=where,
                        field=name,
                    )
                columns[name] = None
                continue
            found = schema.field(lake).type
            if not _type_fits(name, found):
                raise InvalidInput(
                    f"the lake column {lake!r} for the post column {name!r} is {found}, "
                    f"expected {_expected(name)}; cast it in the lake or map another column "
                    f"with --column {name}=LAKE_COLUMN",
                    where=where,
                    field=name,
                )
            columns[name] = lake
        if columns["kind"] is None and columns["original_id"] is not None:
            raise InvalidInput(
                "the lake table has original_id but no kind: reposts cannot be told from "
                "quotes; " + _HOW_TO_MAP.format(name="kind"),
                where=where,
                field="kind",
            )
        return cls(where, dataset, columns)

    def _filter(self, cutoff: datetime) -> ds.Expression:
        lake = self.columns["created_at"]
        assert lake is not None
        t = self.dataset.schema.field(lake).type
        moment = cutoff.astimezone(UTC)
        if t.tz is None:  # a naive lake timestamp is read as UTC
            moment = moment.replace(tzinfo=None)
        return ds.field(lake) <= pa.scalar(moment, type=t)

    def _lake_columns(self) -> list[str]:
        return sorted({c for c in self.columns.values() if c is not None})

    def _select_sql(self) -> str:
        """The post columns over a relation ``lake`` of the lake columns (defaults filled)."""

        def q(name: str) -> str | None:
            lake = self.columns[name]
            return None if lake is None else '"' + lake.replace('"', '""') + '"'

        exprs = []
        for name in SCAN_SCHEMA.names:  # the post columns, in the scan's order
            col = q(name)
            if name in _TIME_COLUMNS:
                expr = f"CAST({col} AS TIMESTAMPTZ)" if col else "CAST(NULL AS TIMESTAMPTZ)"
            elif name in _COUNT_COLUMNS:
                expr = f"CAST(coalesce({col}, 0) AS BIGINT)" if col else "CAST(0 AS BIGINT)"
            elif name == "kind" and col is None:
                reply = q("reply_to")
                expr = (
                    f"CASE WHEN {reply} IS NULL THEN 'post' ELSE 'reply' END" if reply else "'post'"
                )
            else:
                expr = f"CAST({col} AS VARCHAR)" if col else "CAST(NULL AS VARCHAR)"
            exprs.append(f"{expr} AS {name}")
        return "SELECT " + ", ".join(exprs) + " FROM lake"

    def count(self, cutoff: datetime) -> int:
        return int(self.dataset.count_rows(filter=self._filter(cutoff)))

    # How the rows are read: a pyarrow dataset here; IcebergTable reads through pyiceberg.
    def _posts_by(self, cutoff: datetime, batch_rows: int) -> pa.RecordBatchReader:
        """The lake columns of the posts created by the cut-off, in any order."""
        return self.dataset.scanner(
            columns=self._lake_columns(), filter=self._filter(cutoff), batch_size=batch_rows
        ).to_reader()

    def _quoted_ids(self, cutoff: datetime, kind: str, original: str) -> pa.Array:
        """The lake's ``original`` of its quotes created by the cut-off."""
        quotes = self.dataset.to_table(
            columns=[original], filter=self._filter(cutoff) & (ds.field(kind) == "quote")
        )
        return quotes.column(0).combine_chunks()

    def _posts_with_ids(self, id_column: str, ids: pa.Array) -> pa.RecordBatchReader:
        return self.dataset.scanner(
            columns=self._lake_columns(), filter=ds.field(id_column).isin(ids)
        ).to_reader()

    def batches(self, cutoff: datetime, batch_rows: int) -> Iterator[pa.RecordBatch]:
        scan = self._posts_by(cutoff, batch_rows)
        con = consent_bulk.connect()
        spill = tempfile.mkdtemp(prefix="consentry-lake-")
        try:
            con.execute(f"SET temp_directory = '{spill}'")
            con.execute("SET preserve_insertion_order = false")
            con.register("lake", scan)
            sorted_scan = con.sql(f"SELECT * FROM ({self._select_sql()}) ORDER BY id")
            # DuckDB >= 1.4 names it to_arrow_reader; fetch_record_batch before (deprecated).
            stream = getattr(sorted_scan, "to_arrow_reader", None) or sorted_scan.fetch_record_batch
            reader = stream(batch_rows)
            last: str | None = None
            for batch in reader:
                if batch.num_rows:
                    posts = self._checked(batch, last)
                    last = posts.column(0)[-1].as_py()
                    yield posts
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)

    def posts(
        self, con: duckdb.DuckDBPyConnection, lake: pa.RecordBatch, last: str | None
    ) -> pa.RecordBatch:
        """Lake rows (at least one) already in id order, sorted by someone else (Spark), as
        checked posts of ``SCAN_SCHEMA``, mapped by the same SQL as ``batches``; ``last``: the
        id before them."""
        con.register("lake", lake)
        try:
            mapped = con.sql(self._select_sql()).to_arrow_table()
        finally:
            con.unregister("lake")
        return self._checked(mapped.combine_chunks().to_batches()[0], last)

    def _checked(self, batch: pa.RecordBatch, last: str | None) -> pa.RecordBatch:
        for name in REQUIRED_COLUMNS:
            nulls = batch.column(name).null_count
            if nulls:
                raise InvalidInput(
                    f"{nulls} posts have no {name} (lake column {self.columns[name]!r}); every "
                    "post needs one",
                    where=self.where,
                    field=name,
                )
        for name, allowed in ALLOWED_VALUES.items():
            values = batch.column(name)
            bad = pc.drop_null(values.filter(pc.invert(pc.is_in(values, value_set=allowed))))
            if len(bad):
                raise InvalidInput(
                    f"{len(bad)} posts have {name} {bad[0].as_py()!r} (lake column "
                    f"{self.columns[name]!r}); allowed: {', '.join(allowed.to_pylist())}. "
                    "Translate the lake's values into these: an unknown visibility is never "
                    "taken as public",
                    where=self.where,
                    field=name,
                )
        ids = batch.column("id")
        same = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))
        repeated = ids[0].as_py() if last is not None and ids[0].as_py() == last else None
        if repeated is None and pc.any(same).as_py():
            repeated = ids.slice(1).filter(same)[0].as_py()
        if repeated is not None:
            raise InvalidInput(
                f"the lake table holds post {repeated!r} more than once; a post must be one row",
                where=self.where,
                field="id",
            )
        return pa.Table.from_batches([batch]).cast(SCAN_SCHEMA).to_batches()[0]

    def quoted_originals(self, cutoff: datetime) -> pa.Table:
        kind, original = self.columns["kind"], self.columns["original_id"]
        if kind is None or original is None:
            return SCAN_SCHEMA.empty_table()
        quoted = self._quoted_ids(cutoff, kind, original)
        wanted = pc.unique(pc.drop_null(quoted.cast(pa.string())))
        id_column = self.columns["id"]
        assert id_column is not None
        originals = self._posts_with_ids(id_column, wanted)
        con = consent_bulk.connect()
        try:
            con.register("lake", originals)
            table = con.sql(f"{self._select_sql()} ORDER BY id").to_arrow_table()
        finally:
            con.close()
        return table.cast(SCAN_SCHEMA)


@dataclass(frozen=True)
class ParquetSource:
    """Posts from a Parquet file or a directory of them (a ``pyarrow.dataset``; hive-style
    partition directories are read as columns).

    The cut-off is pushed down as a dataset filter (``created_at <= cutoff``): row groups and
    partitions wholly after it are skipped from their statistics, and no later post is read.
    The license's scope (languages, created window, kinds) is *not* pushed down: every post
    created by the cut-off is scanned and an out-of-scope one is counted ``out_of_scope``, so a
    lake delivery's counts are the store delivery's counts.

    Order: the export needs post-id byte order, which a lake table need not keep. The scan is
    sorted by DuckDB (``ORDER BY id`` over the filtered Arrow stream, streamed out with
    ``fetch_record_batch``); DuckDB's external sort spills to a temporary directory beyond its
    memory limit, so memory stays bounded whatever the table's size and layout. DuckDB compares
    VARCHAR bytewise, the order the store reads with ``COLLATE "C"``.
    """

    path: Path
    cutoff: datetime
    columns: Mapping[str, str] = field(default_factory=dict)
    batch_rows: int = 65_536

    @cached_property
    def table(self) -> LakeTable:
        """The dataset, opened once per source: count, scan and quoted originals all read the
        same files."""
        where = str(self.path)
        if not self.path.exists():
            raise InvalidInput(
                "no such Parquet file or directory; pass --source parquet:PATH with an "
                "existing path",
                where=where,
            )
        if (self.path / "_delta_log").is_dir():
            raise InvalidInput(
                "this is a Delta table (it has a _delta_log): read it with --source delta:PATH, "
                "which reads only its current files",
                where=where,
            )
        try:
            dataset = ds.dataset(self.path, format="parquet", partitioning="hive")
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidInput(f"not a readable Parquet dataset: {exc}", where=where) from exc
        return LakeTable.check(where, dataset, self.columns)

    def batches(self) -> Iterator[pa.RecordBatch]:
        return self.table.batches(self.cutoff, self.batch_rows)

    def count(self) -> int:
        return self.table.count(self.cutoff)

    def quoted_originals(self) -> pa.Table:
        return self.table.quoted_originals(self.cutoff)


@dataclass(frozen=True)
class DeltaSource:
    """Posts from a Delta table (its current version), read as
    ``deltalake.DeltaTable(path).to_pyarrow_dataset()``: the same filter push-down (the Delta
    log's file statistics and partition values skip whole files), column mapping and DuckDB sort
    as ``ParquetSource``."""

    path: Path
    cutoff: datetime
    columns: Mapping[str, str] = field(default_factory=dict)
    batch_rows: int = 65_536

    @cached_property
    def table(self) -> LakeTable:
        """The table's current version, opened once per source: count, scan and quoted
        originals all read that version's files, whatever is committed meanwhile."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        where = str(self.path)
        try:
            dataset = DeltaTable(str(self.path)).to_pyarrow_dataset()
        except TableNotFoundError as exc:
            raise InvalidInput(
                "no Delta table here (no _delta_log); pass --source delta:PATH with the "
                "table's root directory",
                where=where,
            ) from exc
        return LakeTable.check(where, dataset, self.columns)

    def batches(self) -> Iterator[pa.RecordBatch]:
        return self.table.batches(self.cutoff, self.batch_rows)

    def count(self) -> int:
        return self.table.count(self.cutoff)

    def quoted_originals(self) -> pa.Table:
        return self.table.quoted_originals(self.cutoff)


class LakeSource(Source, Protocol):
    @property
    def table(self) -> LakeTable:
        """The table, opened (and checked) on first use."""
        ...


SOURCE_KINDS = ("store", "parquet", "delta", "iceberg")
SOURCE_HELP = "store, parquet:PATH, delta:PATH or iceberg:[CATALOG_URI#]CATALOG.NAMESPACE.TABLE"


@dataclass(frozen=True)
class SourceSpec:
    """Where the posts come from, before the cut-off is known: ``store`` (the default),
    ``parquet:PATH``, ``delta:PATH`` or ``iceberg:[URI#]CATALOG.NAMESPACE.TABLE``
    (``pipeline/iceberg.py``), with the lake's column mapping."""

    kind: str = "store"
    path: Path | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    table: str | None = None
    """For Iceberg: ``[URI#]CATALOG.NAMESPACE.TABLE``."""

    @classmethod
    def parse(cls, spec: str, columns: Sequence[str] = ()) -> SourceSpec:
        kind, _, path = spec.partition(":")
        if kind not in SOURCE_KINDS or (kind == "store") != (not path):
            raise InvalidInput(f"expected {SOURCE_HELP}, got {spec!r}", field="--source")
        mapping = parse_column_mapping(columns)
        if kind == "store" and mapping:
            raise InvalidInput(
                "--column maps a lake table's columns: use it with "
                "--source parquet:PATH, delta:PATH or iceberg:...",
                field="--column",
            )
        if kind == "iceberg":
            from consentry.pipeline.iceberg import IcebergLocation

            return cls(kind, None, mapping, str(IcebergLocation.parse(path)))
        return cls(kind, Path(path).expanduser() if path else None, mapping)

    def open(self, engine: Engine, cutoff: datetime, batch_rows: int = 65_536) -> Source:
        if self.kind == "store":
            return StoreSource(engine, cutoff, batch_rows)
        source = self._lake(cutoff, batch_rows)
        source.table  # noqa: B018 -- open it now, before the count and the scan start
        return source

    def check(self) -> None:
        """Open a lake table and check its columns now (before a delivery is started)."""
        if self.kind != "store":
            self._lake(datetime.now(UTC), 65_536).table  # noqa: B018

    def _lake(self, cutoff: datetime, batch_rows: int) -> LakeSource:
        if self.kind == "iceberg":
            from consentry.pipeline.iceberg import IcebergLocation, IcebergSource

            assert self.table is not None
            location = IcebergLocation.parse(self.table)
            return IcebergSource(location, cutoff, dict(self.columns), batch_rows)
        assert self.path is not None
        lake = ParquetSource if self.kind == "parquet" else DeltaSource
        return lake(self.path, cutoff, dict(self.columns), batch_rows)
