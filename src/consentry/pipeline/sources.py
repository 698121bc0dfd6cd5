"""Where an export reads its posts: today the store's ``posts`` table, in post-id byte order.

A source is plain data with a ``batches()`` method yielding Arrow record batches of
``transform.SCAN_SCHEMA``, id-ordered; a lake source (Parquet, Delta, Iceberg) is another
implementation of the same protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pyarrow as pa
from sqlalchemy import Engine, func, select, text

from consentry.pipeline.transform import SCAN_SCHEMA
from consentry.store.arrow_io import read_batches
from consentry.store.models import Post


class Source(Protocol):
    """Posts created by the cut-off, as Arrow batches of ``SCAN_SCHEMA`` in post-id order."""

    def batches(self) -> Iterator[pa.RecordBatch]: ...

    def count(self) -> int:
        """How many posts ``batches`` yields (for the progress bar)."""
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
