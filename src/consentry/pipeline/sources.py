"""Where an export reads its posts: the store's ``posts`` table (``StoreSource``, the default)
or a table in the platform's lake (``ParquetSource``, ``DeltaSource``).

A source gives the posts created by the cut-off (``transform.SCAN_SCHEMA``) two ways: as a
relation registered in a DuckDB connection, in no particular order (``register``: the embedded
engine judges the whole scan in one query, which sorts by post id), and as Arrow record batches
in post-id byte order (``batches``: for an engine that runs the per-batch function). ``count()``
says how many; ``quoted_originals()`` reads the posts quoted by those (rule 8) from the same
table. Accounts and the ledger always come from the store.

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

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from duckdb import DuckDBPyConnection, DuckDBPyRelation
from duckdb import Error as DuckDBError
from sqlalchemy import Engine, func, select, text

from consentry.domain import consent_bulk
from consentry.domain.types import PostKind, Visibility
from consentry.errors import InvalidInput
from consentry.pipeline.transform import SCAN_SCHEMA
from consentry.store.arrow_io import read_batches
from consentry.store.models import Post


class Source(Protocol):
    """Posts created by the cut-off (``SCAN_SCHEMA``), each once."""

    @property
    def where(self) -> str:
        """What the posts are read from, for error messages."""
        ...

    def register(self, con: DuckDBPyConnection, name: str) -> None:
        """Define relation ``name`` in ``con``: the posts, checked, in no particular order."""
        ...

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The posts as Arrow batches in post-id byte order."""
        ...

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
    where: str = "the store's posts table"
    _started: list[Iterator[pa.RecordBatch]] = field(
        default_factory=list, repr=False, compare=False
    )

    def start(self) -> None:
        """Start the unordered scan now: on SQLite it runs in its own child process, so it
        overlaps whatever the caller does next (the consent snapshot); ``register`` then hands
        it over."""
        if not self._started:
            self._started.append(scan_posts(self.engine, self.cutoff, self.batch_rows, order=False))

    def register(self, con: DuckDBPyConnection, name: str) -> None:
        # In table order, not id order: an id-ordered scan walks the primary-key index and
        # fetches each row from wherever it lies; the judging query sorts anyway.
        scan = (
            self._started.pop()
            if self._started
            else scan_posts(self.engine, self.cutoff, self.batch_rows, order=False)
        )
        con.register(name, pa.RecordBatchReader.from_batches(SCAN_SCHEMA, scan))

    def batches(self) -> Iterator[pa.RecordBatch]:
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


def scan_posts(
    engine: Engine, cutoff: datetime, batch_rows: int, *, order: bool = True
) -> Iterator[pa.RecordBatch]:
    """Posts created by the cut-off, in post-id byte order (the same on both databases), or
    in the table's own order."""
    by_id = "id" if engine.dialect.name == "sqlite" else 'id COLLATE "C"'
    return read_batches(
        engine,
        table="posts",
        schema=SCAN_SCHEMA,
        where=cutoff_sql(engine, cutoff),
        order_by=by_id if order else "",
        batch_rows=batch_rows,
    )


def arrow_stream(relation: DuckDBPyRelation, batch_rows: int) -> pa.RecordBatchReader:
    # DuckDB >= 1.4 names it to_arrow_reader; fetch_record_batch before (deprecated).
    stream = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    reader: pa.RecordBatchReader = stream(batch_rows)
    return reader


def check_ids_ascending(ids: pa.Array | pa.ChunkedArray, last: str | None, where: str) -> str:
    """Refuse a post id seen twice in an id-ordered stream (``last``: the previous batch's last
    id); return this batch's last id."""
    same = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))
    repeated = ids[0].as_py() if last is not None and ids[0].as_py() == last else None
    if repeated is None and pc.any(same).as_py():
        repeated = ids.slice(1).filter(same)[0].as_py()
    if repeated is not None:
        raise InvalidInput(
            f"the lake table holds post {repeated!r} more than once; a post must be one row",
            where=where,
            field="id",
        )
    return str(ids[-1].as_py())


_REFUSED = "consentry-refused|"
"""Marks the message of a lake row refused inside DuckDB (``error()``) as ``|field|message``."""


def refused(exc: DuckDBError, where: str) -> Exception:
    """The InvalidInput for a row a lake relation's check refused; other errors unchanged."""
    message = str(exc)
    if _REFUSED not in message:
        return exc
    field_name, _, why = message.split(_REFUSED, 1)[1].partition("|")
    return InvalidInput(why, where=where, field=field_name)


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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
    parquet_files: tuple[str, ...] | None = None
    """When set, DuckDB reads these Parquet files itself (parallel, with filter push-down into
    row groups) instead of scanning ``dataset`` through Arrow; partition directories hive-style."""

    @classmethod
    def check(
        cls,
        where: str,
        dataset: ds.Dataset,
        mapping: Mapping[str, str],
        parquet_files: tuple[str, ...] | None = None,
    ) -> LakeTable:
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
        return cls(where, dataset, columns, parquet_files)

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

    def _lake(self, column: str) -> str:
        lake = self.columns[column]
        assert lake is not None
        return '"' + lake.replace('"', '""') + '"'

    def _select_sql(self) -> str:
        """The post columns over a relation ``lake`` of the lake columns (defaults filled)."""

        def q(name: str) -> str | None:
            return None if self.columns[name] is None else self._lake(name)

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

    def _cutoff_sql(self, cutoff: datetime) -> str:
        """``created_at <= cutoff`` on the lake column itself, so DuckDB pushes it into the scan
        (row-group statistics); a naive lake timestamp is read as UTC."""
        t = self.dataset.schema.field(self.columns["created_at"]).type
        moment = cutoff.astimezone(UTC)
        if t.tz is None:
            return f"{self._lake('created_at')} <= TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S.%f}'"
        return f"{self._lake('created_at')} <= TIMESTAMPTZ '{moment.isoformat()}'"

    def _refusals_sql(self) -> str:
        """A condition that is true for every acceptable row and raises (DuckDB ``error()``,
        evaluated only for the rows it names) on a post without a required column or with a
        value the store would not hold."""
        cases = []
        for name in REQUIRED_COLUMNS:
            why = f"a post has no {name} (lake column {self.columns[name]!r}); every post needs one"
            message = sql_text(_REFUSED + name + "|" + why)
            cases.append(f"WHEN {self._lake(name)} IS NULL THEN error({message})")
        for name, allowed in ALLOWED_VALUES.items():
            if self.columns[name] is None:
                continue
            values = allowed.to_pylist()
            col = f"CAST({self._lake(name)} AS VARCHAR)"
            head = _REFUSED + name + "|a post has " + name + " '"
            tail = (
                f"' (lake column {self.columns[name]!r}); allowed: {', '.join(values)}. Translate "
                "the lake's values into these: an unknown visibility is never taken as public"
            )
            cases.append(
                f"WHEN {col} NOT IN ({', '.join(sql_text(v) for v in values)}) "
                f"THEN error({sql_text(head)} || {col} || {sql_text(tail)})"
            )
        return f"(CASE {' '.join(cases)} END) IS NULL"

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

    def register(self, con: DuckDBPyConnection, name: str, cutoff: datetime) -> None:
        if self.parquet_files is not None:
            hive = "true" if self.dataset.partitioning.schema else "false"
            files = ", ".join(sql_text(f) for f in self.parquet_files)
            lake = f"read_parquet([{files}], hive_partitioning = {hive}, union_by_name = true)"
        else:  # Delta (the log decides the files) or Iceberg (pyiceberg reads them)
            con.register(f"{name}_dataset", self._posts_by(cutoff, 65_536))
            lake = f"{name}_dataset"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS WITH lake AS (SELECT * FROM {lake} WHERE "
            f"{self._cutoff_sql(cutoff)} AND {self._refusals_sql()}) {self._select_sql()}"
        )

    def batches(self, cutoff: datetime, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """The posts sorted by DuckDB (``ORDER BY id``, bytewise VARCHAR order); its external
        sort spills to a temporary directory past its memory limit, so memory stays bounded."""
        con = consent_bulk.connect()
        spill = tempfile.mkdtemp(prefix="consentry-lake-")
        try:
            con.execute(f"SET temp_directory = '{spill}'")
            self.register(con, "posts", cutoff)
            last: str | None = None
            try:
                for batch in arrow_stream(con.sql("FROM posts ORDER BY id"), batch_rows):
                    if batch.num_rows:
                        last = check_ids_ascending(batch.column("id"), last, self.where)
                        yield pa.Table.from_batches([batch]).cast(SCAN_SCHEMA).to_batches()[0]
            except DuckDBError as exc:
                raise refused(exc, self.where) from exc
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)

    def posts(
        self, con: DuckDBPyConnection, lake: pa.RecordBatch, last: str | None
    ) -> pa.RecordBatch:
        """Lake rows (at least one) already in id order, sorted by someone else (Spark), as
        checked posts of ``SCAN_SCHEMA``: the same mapping and refusals as ``register``;
        ``last``: the id before them."""
        con.register("lake_rows", lake)
        try:
            mapped = con.sql(
                f"WITH lake AS (SELECT * FROM lake_rows WHERE {self._refusals_sql()}) "
                f"{self._select_sql()}"
            ).to_arrow_table()
        except DuckDBError as exc:
            raise refused(exc, self.where) from exc
        finally:
            con.unregister("lake_rows")
        batch = mapped.cast(SCAN_SCHEMA).combine_chunks().to_batches()[0]
        check_ids_ascending(batch.column("id"), last, self.where)
        return batch

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


class LakeTableReads:
    """The ``Source`` reads of a lake source, each its ``LakeTable``'s at the source's cut-off
    (Parquet, Delta, Iceberg differ only in how they open the table)."""

    cutoff: datetime
    batch_rows: int

    @property
    def table(self) -> LakeTable:
        raise NotImplementedError

    def register(self, con: DuckDBPyConnection, name: str) -> None:
        self.table.register(con, name, self.cutoff)

    def batches(self) -> Iterator[pa.RecordBatch]:
        return self.table.batches(self.cutoff, self.batch_rows)

    def count(self) -> int:
        return self.table.count(self.cutoff)

    def quoted_originals(self) -> pa.Table:
        return self.table.quoted_originals(self.cutoff)


@dataclass(frozen=True)
class ParquetSource(LakeTableReads):
    """Posts from a Parquet file or a directory of them (a ``pyarrow.dataset``; hive-style
    partition directories are read as columns).

    The cut-off is pushed down as a dataset filter (``created_at <= cutoff``): row groups and
    partitions wholly after it are skipped from their statistics, and no later post is read.
    The license's scope (languages, created window, kinds) is *not* pushed down: every post
    created by the cut-off is scanned and an out-of-scope one is counted ``out_of_scope``, so a
    lake delivery's counts are the store delivery's counts.

    DuckDB reads the dataset's files itself (``read_parquet``, in parallel, the cut-off pushed
    into the row groups). Order: the export needs post-id byte order, which a lake table need
    not keep; DuckDB sorts (in the embedded engine's judging query, or ``ORDER BY id`` for
    ``batches``), spilling to a temporary directory beyond its memory limit, so memory stays
    bounded whatever the table's size and layout. DuckDB compares VARCHAR bytewise, the order
    the store reads with ``COLLATE "C"``.
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
        return LakeTable.check(where, dataset, self.columns, tuple(dataset.files))

    @property
    def where(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class DeltaSource(LakeTableReads):
    """Posts from a Delta table (its current version), read as
    ``deltalake.DeltaTable(path).to_pyarrow_dataset()``: the same filter push-down (the Delta
    log's file statistics and partition values skip whole files), column mapping and DuckDB sort
    as ``ParquetSource``; DuckDB scans the Arrow dataset (its files are the Delta log's to
    pick, not a directory listing)."""

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

    @property
    def where(self) -> str:
        return str(self.path)


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
