"""Disk full: an export into a small tmpfs that runs out of space fails with one clear line (no
traceback), leaves no half-written shard (``.partial``) and no manifest, and ``--resume``
completes the delivery, equal to one written with room to spare, once space is freed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reliability.harness import LICENSE, Scale, cli_env, consentry, seed_platform

CUTOFF = "2025-01-01T00:00:00+00:00"
SHARD_ROWS = 64


def _export(out: Path, *extra: str) -> list[str]:
    return [
        "export", "--license", LICENSE, "--cutoff", CUTOFF, "--out", str(out),
        "--shard-rows", str(SHARD_ROWS), "--threads", "1", *extra,
    ]  # fmt: skip


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (we run as root in CI); skipped where mounting is not allowed."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _records(out: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted(out.glob("part-*.parquet")))


@pytest.mark.slow
def test_an_export_that_fills_the_disk_fails_cleanly_and_resumes_once_space_is_freed(
    small_disk: Path, tmp_path: Path, scale: Scale, figures: dict[str, Any]
) -> None:
    home = tmp_path / "home"
    database_url = f"sqlite:///{tmp_path / 'consentry.db'}"
    seed_platform(database_url, home, scale.accounts, scale.posts)
    env = cli_env(home, database_url)
    roomy = tmp_path / "roomy"
    consentry(env, *_export(roomy))
    shard_bytes = sorted(p.stat().st_size for p in roomy.glob("part-*.parquet"))
    assert len(shard_bytes) >= 3

    # Leave room for about two shards, so the third one meets a full disk.
    free = shutil.disk_usage(small_disk).free
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (free - 2 * shard_bytes[-1] - shard_bytes[-1] // 2))
    out = small_disk / "delivery"
    failed = consentry(env, *_export(out), check=False)
    assert failed.returncode == 1, failed.stdout[-2000:] + failed.stderr[-2000:]
    assert "Traceback" not in failed.stderr, failed.stderr[-3000:]
    assert "no space left" in failed.stderr.lower() and "--resume" in failed.stderr
    assert not list(out.glob("*.partial")), "a half-written shard was left behind"
    assert not (out / "manifest.json").exists() and not (out / "manifest.sig").exists()
    shards_before = len(list(out.glob("part-*.parquet")))

    ballast.unlink()
    consentry(env, *_export(out, "--resume"))
    consentry(env, "verify", str(out))
    assert _records(out).equals(_records(roomy))
    figures.update(
        filesystem="tmpfs, 1 MiB",
        shards_kept_at_the_failure=shards_before,
        shards_in_total=len(shard_bytes),
        error=failed.stderr.strip().splitlines()[-1][:300],
        resumed="complete, records equal to an export with room",
    )
