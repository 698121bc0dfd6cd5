"""Crash during export: ``kill -9`` of a ``consentry export`` at seeded random moments, then
recovery as an operator would do it (``--resume``, or a fresh start if the delivery row was never
committed); the result holds exactly the records and members of an uninterrupted run, and its
manifest verifies (``consentry verify``).

Engines are a parameter: each entry of ``ENGINES`` gives the CLI options that select it, and the
scale says which run (Spark's only in the long run: CI kills a Spark export in
``tests/pipeline/test_engine_equivalence.py``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine

from consentry.store.db import session_scope
from consentry.store.deliveries import members_of, running_delivery_at
from reliability.harness import LICENSE, Scale, cli_env, consentry, current_scale, seed_platform

ENGINES: dict[str, list[str]] = {
    "embedded": [],
    "spark": ["--engine", "spark", "--master", "local[1]"],
}
CUTOFF = "2025-01-01T00:00:00+00:00"
SHARD_ROWS = 64
SEED = 20261202


def _export_args(out: Path, engine: str, *extra: str) -> list[str]:
    return [
        "export", "--license", LICENSE, "--cutoff", CUTOFF, "--out", str(out),
        "--shard-rows", str(SHARD_ROWS), "--threads", "1", *ENGINES[engine], *extra,
    ]  # fmt: skip


def _records(out: Path) -> pa.Table:
    """Every delivered record, decoded, in record-id order."""
    shards = sorted(out.glob("part-*.parquet"))
    return pa.concat_tables(pq.read_table(s) for s in shards).sort_by("record_id")


def _members(database_url: str, out: Path) -> tuple[str, list[tuple[str, str, str]]]:
    engine = create_engine(database_url)
    try:
        with session_scope(engine) as session:
            delivery = running_delivery_at(session, str(out.resolve()))
            assert delivery is not None, f"no delivery recorded at {out}"
            rows = [
                (m.post_id, m.account_id, m.record_pseudonym)
                for m in members_of(session, delivery.id)
            ]
            return delivery.status, rows
    finally:
        engine.dispose()


def _timed_reference(env: dict[str, str], args: list[str], out: Path) -> tuple[float, float]:
    """Run the export to the end; (seconds in all, seconds until its first shard appeared)."""
    log = out.with_name(f"{out.name}.log")
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "consentry", *args], env=env, stdout=output, stderr=output
        )
        first_shard = None
        while process.poll() is None:
            if first_shard is None and any(out.glob("*part-*")):
                first_shard = time.monotonic() - started
            time.sleep(0.01)
    duration = time.monotonic() - started
    assert process.returncode == 0, log.read_text()[-2000:]
    return duration, duration if first_shard is None else first_shard


def _kill_at(env: dict[str, str], args: list[str], delay: float) -> bool:
    """Start the export, SIGKILL it after ``delay`` seconds; False if it finished first."""
    process = subprocess.Popen(
        [sys.executable, "-m", "consentry", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return True


def _phase(out: Path) -> str:
    """How far the killed run got, from what it left on disk."""
    if (out / "manifest.sig").exists():
        return "signed"
    if any(out.glob("part-*.parquet")):
        return f"{len(list(out.glob('part-*.parquet')))} shards"
    return "before the first shard" if out.exists() else "before the delivery directory"


def _recover(env: dict[str, str], out: Path, engine: str) -> str:
    """What an operator does after a crash: resume; if nothing was started, start again."""
    resumed = consentry(env, *_export_args(out, engine, "--resume"), check=False)
    if resumed.returncode == 0:
        return "resumed"
    if "was never started" in resumed.stderr:
        consentry(env, *_export_args(out, engine))
        return "started again"
    if "already complete" in resumed.stderr:
        return "had completed"
    raise AssertionError(f"--resume failed:\n{resumed.stdout[-2000:]}\n{resumed.stderr[-2000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("engine", current_scale().export_engines)
def test_an_export_killed_anywhere_and_resumed_equals_an_uninterrupted_one(
    engine: str, tmp_path: Path, scale: Scale, figures: dict[str, Any]
) -> None:
    home = tmp_path / "home"
    database_url = f"sqlite:///{tmp_path / 'consentry.db'}"
    seed_platform(database_url, home, scale.accounts, scale.posts)
    env = cli_env(home, database_url)

    reference = tmp_path / "reference"
    duration, writing_from = _timed_reference(env, _export_args(reference, engine), reference)
    want_records, (status, want_members) = _records(reference), _members(database_url, reference)
    assert status == "complete" and want_records.num_rows == len(want_members) > SHARD_ROWS

    rng = random.Random(SEED)
    runs = []
    for n in range(scale.export_crash_runs):
        out = tmp_path / f"run-{n:02d}"
        # Every other kill falls while shards are written (most of a small export's time is
        # start-up, so uniform moments alone would seldom kill it mid-delivery).
        delay = rng.uniform(writing_from if n % 2 else 0.0, duration)
        killed = _kill_at(env, _export_args(out, engine), delay)
        phase = _phase(out)
        assert not (out / "manifest.json").exists() or (out / "manifest.sig").exists(), (
            "a manifest without its signature was left behind"
        )
        recovery = _recover(env, out, engine)
        consentry(env, "verify", str(out))
        assert not list(out.glob("*.partial")), f"run {n}: a .partial file was left in {out}"
        status, got_members = _members(database_url, out)
        assert status == "complete"
        assert got_members == want_members, f"run {n}: members differ from the reference"
        got_records = _records(out)
        assert got_records.num_rows == len(set(got_records["record_id"].to_pylist()))
        assert got_records.equals(want_records), f"run {n}: records differ from the reference"
        runs.append(
            {"delay_s": round(delay, 2), "killed": killed, "phase": phase, "recovery": recovery}
        )
    figures.update(
        engine=engine,
        runs=len(runs),
        killed=sum(r["killed"] for r in runs),
        records_per_run=want_records.num_rows,
        reference_seconds=round(duration, 1),
        first_shard_seconds=round(writing_from, 1),
        lost=0,
        duplicated=0,
        detail=runs,
    )
