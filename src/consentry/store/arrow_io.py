"""Read query results from the database as Arrow record batches, through ADBC.

SQLite has no column types to speak of, and ADBC infers a type from the first rows it sees, so
on SQLite a nullable column is read as text with a sentinel for NULL (a batch of NULLs would
otherwise be typed int64) and cast to the wanted schema in Arrow (vectorized); a NOT NULL column
is read as it is. PostgreSQL's typed columns are cast directly.

The ADBC SQLite driver links its own copy of SQLite. Two copies of SQLite in one process break
each other's POSIX locks (sqlite.org/howtocorrupt.html, 2.2.1) -- we saw the pysqlite connections
read stale data after an ADBC write -- so on SQLite the ADBC reader runs in a child process
(``python -m consentry.store.sqlite_reader``) and streams Arrow IPC back over a pipe; every
write to SQLite goes through pysqlite. PostgreSQL's driver is libpq: it stays in process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from consentry.store import sqlite_reader

NULL_SENTINEL = "\x00"
BATCH_ROWS = 65_536


@contextmanager
def adbc_connection(engine: Engine) -> Iterator[Any]:
    """An in-process ADBC connection: PostgreSQL only (see the module docstring for SQLite)."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        import adbc_driver_postgresql.dbapi as driver

        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = driver.connect(plain)
    else:  # pragma: no cover - only the two supported backends
        raise ValueError(f"no Arrow reader for {url.get_backend_name()}")
    try:
        yield conn
    finally:
        conn.close()


def _select_list(schema: pa.Schema, columns: Sequence[str], dialect: str) -> str:
    if dialect != "sqlite":
        return ", ".join(columns)
    return ", ".join(
        f"coalesce(CAST({c} AS TEXT), char(0)) AS {f.name}" if f.nullable else f"{c} AS {f.name}"
        for f, c in zip(schema, columns, strict=True)
    )


def _to_schema(batch: pa.RecordBatch, schema: pa.Schema, dialect: str) -> pa.RecordBatch:
    arrays = []
    for field, column in zip(schema, batch.columns, strict=True):
        if dialect == "sqlite":
            if field.nullable:
                column = pc.if_else(pc.equal(column, NULL_SENTINEL), None, column)
            if pa.types.is_timestamp(field.type):
                column = column.cast(pa.timestamp(field.type.unit)).cast(field.type)
            elif pa.types.is_boolean(field.type):
                column = column.cast(pa.int8()).cast(pa.bool_())
        arrays.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def read_batches(
    engine: Engine,
    *,
    table: str,
    schema: pa.Schema,
    columns: Sequence[str] | None = None,
    where: str = "",
    order_by: str = "",
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Stream ``SELECT columns FROM table [WHERE] [ORDER BY]`` as batches of ``schema``.

    ``columns`` are SQL expressions in schema order (default: the schema's field names);
    ``where`` takes literals that the caller has checked (ADBC SQLite binds no parameters here).
    A field declared non-nullable in ``schema`` must be NOT NULL in the database. On SQLite the
    query starts at once, in its child process, so several reads can overlap.
    """
    dialect = engine.url.get_backend_name()
    columns = list(columns or schema.names)
    sql = f"SELECT {_select_list(schema, columns, dialect)} FROM {table}"
    if where:
        sql += f" WHERE {where}"
    if order_by:
        sql += f" ORDER BY {order_by}"
    if dialect == "sqlite":
        source: Iterable[pa.RecordBatch] = sqlite_reader.ChildReader(
            engine.url.database or "", sql, batch_rows
        )
    else:
        source = _postgres_batches(engine, sql)
    return (_to_schema(b, schema, dialect) for b in source if b.num_rows)


def _postgres_batches(engine: Engine, sql: str) -> Iterator[pa.RecordBatch]:
    with adbc_connection(engine) as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        yield from cursor.fetch_record_batch()
        cursor.close()


def read_table(engine: Engine, **kwargs: Any) -> pa.Table:
    schema: pa.Schema = kwargs["schema"]
    return pa.Table.from_batches(list(read_batches(engine, **kwargs)), schema=schema)
