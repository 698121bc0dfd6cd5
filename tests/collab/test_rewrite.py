"""A shard rewrite for a deletion notice: the records go, everything else stays as it was, and
a failure mid-write leaves the original whole and no partial file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from consentry.collab.local import rewrite_shard
from consentry.pipeline.manifest import sha256_file


def _shard(path: Path, rows: int, row_group: int) -> pa.Table:
    table = pa.table(
        {
            "record_id": [f"r{i:06d}" for i in range(rows)],
            "text": [f"text {i} " + "x" * (i % 97) for i in range(rows)],
            "n": pa.array(range(rows), pa.int64()),
        }
    ).replace_schema_metadata({"consentry": "delivered"})
    pq.write_table(table, path, row_group_size=row_group, compression="zstd")
    return table


def test_a_rewrite_removes_exactly_those_records_keeping_order_and_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "part-00000.parquet"
    original = _shard(path, 1000, row_group=300)
    gone = ["r000003", "r000500", "r000999", "not-here"]
    done = rewrite_shard(path, pa.array(gone))
    assert done is not None and done.removed == 3 and done.rows_after == 997
    assert done.sha256_after == sha256_file(path) and done.bytes_after == path.stat().st_size
    after = pq.read_table(path)
    assert after.schema == original.schema  # metadata included
    expected = [r for r in original["record_id"].to_pylist() if r not in gone]
    assert after["record_id"].to_pylist() == expected
    assert pq.ParquetFile(path).num_row_groups == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-00000.parquet"]


def test_a_shard_without_those_records_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "part-00000.parquet"
    _shard(path, 10, row_group=10)
    before = (sha256_file(path), path.stat().st_mtime_ns)
    assert rewrite_shard(path, pa.array(["elsewhere"])) is None
    assert (sha256_file(path), path.stat().st_mtime_ns) == before


def test_a_rewrite_that_fails_mid_write_leaves_the_original_and_no_partial_file(
    tmp_path: Path,
) -> None:
    """The write really fails: the child process may write no file larger than 64 KiB
    (RLIMIT_FSIZE, with SIGXFSZ ignored so the write returns EFBIG), like a full disk."""
    path = tmp_path / "part-00000.parquet"
    _shard(path, 60_000, row_group=5_000)
    assert path.stat().st_size > 256 * 1024
    before = sha256_file(path)
    child = textwrap.dedent(
        f"""
        import resource, signal, sys
        import pyarrow as pa
        from pathlib import Path
        from consentry.collab.local import rewrite_shard
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        try:
            rewrite_shard(Path({str(path)!r}), pa.array(["r000001"]))
        except OSError as exc:
            print("failed:", exc)
            sys.exit(3)
        sys.exit(0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert sha256_file(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-00000.parquet"]
