"""Deterministic Parquet shards, each written under a temporary name and renamed when whole.

Records are re-chunked into fixed-size row groups and fixed-size shards, whatever the batch sizes
upstream, so the same records always give byte-identical files. Shards that a previous, crashed
run already finished are skipped (their rows counted, not rewritten).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from consentry.pipeline.manifest import sha256_file

PARTIAL_SUFFIX = ".partial"
ROW_GROUP_ROWS = 65_536


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


@dataclass(frozen=True)
class FinishedShard:
    index: int
    name: str
    sha256: str
    rows: int
    bytes: int
    members: pa.Table


class ShardWriter:
    def __init__(
        self,
        out_dir: Path,
        schema: pa.Schema,
        *,
        shard_rows: int,
        done: set[str],
        on_finished: Callable[[FinishedShard], None],
    ) -> None:
        if shard_rows % ROW_GROUP_ROWS and shard_rows > ROW_GROUP_ROWS:
            raise ValueError(f"shard_rows must be a multiple of {ROW_GROUP_ROWS}")
        self.out_dir, self.schema, self.shard_rows = out_dir, schema, shard_rows
        self.row_group_rows = min(ROW_GROUP_ROWS, shard_rows)
        self.done, self.on_finished = done, on_finished
        self.index = 0
        self.rows_in_shard = 0
        self.total_rows = 0
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pa.Table] = []
        self.pending_members: list[pa.Table] = []
        self.pending_rows = 0
        self.shard_members: list[pa.Table] = []
        self.shards_written: list[str] = []
        self.skipped_post_ids: list[pa.ChunkedArray] = []
        """Post ids of the rows that fell into shards already done (checked on resume)."""

    def write(self, records: pa.Table, members: pa.Table) -> None:
        if records.num_rows == 0:
            return
        self.pending.append(records)
        self.pending_members.append(members)
        self.pending_rows += records.num_rows
        while self.pending_rows >= self._room():
            self._emit(self._room())

    def close(self) -> None:
        """Flush what is left as the last (shorter) shard."""
        if self.pending_rows:
            self._emit(self.pending_rows)
        if self.rows_in_shard:
            self._finish_shard()

    def _room(self) -> int:
        return min(self.row_group_rows, self.shard_rows - self.rows_in_shard)

    def abort(self) -> None:
        """Drop the shard being written, so a failed run leaves no half-written file."""
        if self.writer is not None:
            with contextlib.suppress(OSError):
                self.writer.close()
            self.writer = None
        (self.out_dir / (shard_name(self.index) + PARTIAL_SUFFIX)).unlink(missing_ok=True)

    def _emit(self, rows: int) -> None:
        records = pa.concat_tables(self.pending)
        members = pa.concat_tables(self.pending_members)
        chunk, rest = records.slice(0, rows), records.slice(rows)
        self.pending = [rest] if rest.num_rows else []
        self.pending_members = [members.slice(rows)] if rest.num_rows else []
        self.pending_rows = rest.num_rows
        name = shard_name(self.index)
        if name not in self.done:
            if self.writer is None:
                self.writer = pq.ParquetWriter(
                    self.out_dir / (name + PARTIAL_SUFFIX),
                    self.schema,
                    compression="zstd",
                    write_statistics=True,
                )
            self.writer.write_table(chunk.combine_chunks(), row_group_size=rows)
            self.shard_members.append(members.slice(0, rows))
        else:
            self.skipped_post_ids.append(members.slice(0, rows).column("post_id"))
        self.rows_in_shard += rows
        self.total_rows += rows
        if self.rows_in_shard == self.shard_rows:
            self._finish_shard()

    def _finish_shard(self) -> None:
        name = shard_name(self.index)
        if name not in self.done:
            assert self.writer is not None
            self.writer.close()
            self.writer = None
            partial = self.out_dir / (name + PARTIAL_SUFFIX)
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            final = self.out_dir / name
            os.replace(partial, final)
            self.on_finished(
                FinishedShard(
                    index=self.index,
                    name=name,
                    sha256=sha256_file(final),
                    rows=self.rows_in_shard,
                    bytes=final.stat().st_size,
                    members=pa.concat_tables(self.shard_members),
                )
            )
            self.shard_members = []
        self.shards_written.append(name)
        self.index += 1
        self.rows_in_shard = 0
