"""An export killed with SIGKILL at any point is finished by --resume, losing and duplicating
nothing: the result equals an uninterrupted run, shard for shard and member for member."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from export_platform import CUTOFF, build_platform
from pause_points import hold, paused
from sqlalchemy import Engine

from consentry.pipeline import pause
from consentry.pipeline.export import run_export
from consentry.pipeline.verify import verify_delivery
from consentry.settings import Settings
from consentry.store.db import session_scope
from consentry.store.deliveries import members_of
from consentry.store.models import Account

SHARD_ROWS = 256


def _export_command(out: Path, *extra: str) -> list[str]:
    return [
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
        str(SHARD_ROWS),
        "--threads",
        "1",
        *extra,
    ]


def _env(engine: Engine, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CONSENTRY_HOME": str(home),
        "CONSENTRY_DATABASE_URL": engine.url.render_as_string(hide_password=False),
    }


def _kill_after(
    command: list[str], env: dict[str, str], out: Path, shards: int, tmp_path: Path
) -> None:
    """Run the export until it has recorded ``shards`` shards (it pauses there), then kill it."""
    pauses = hold(tmp_path, pause.SHARD_REGISTERED, reached=shards)
    env = {**env, pause.ENV: str(pauses)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert paused(pause.SHARD_REGISTERED, pauses, process) == process.pid
    assert len(list(out.glob("part-*.parquet"))) >= shards
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_shards", [1, 7, 25])
def test_resume_after_kill_equals_an_uninterrupted_run(
    engine: Engine, tmp_path: Path, kill_after_shards: int
) -> None:
    build_platform(engine, extra_posts=20_000)
    home = tmp_path / "home"
    env = _env(engine, home)
    interrupted = tmp_path / "interrupted"
    _kill_after(_export_command(interrupted), env, interrupted, kill_after_shards, tmp_path)

    refused = subprocess.run(_export_command(interrupted), env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "--resume" in refused.stderr

    resumed = subprocess.run(
        _export_command(interrupted, "--resume"), env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr

    clean = tmp_path / "clean"
    reference = run_export(
        engine,
        Settings(home=home),
        license_id="nw-all",
        cutoff=CUTOFF,
        out_dir=clean,
        shard_rows=SHARD_ROWS,
    )
    assert verify_delivery(interrupted).ok
    clean_shards = sorted(p.name for p in clean.glob("*.parquet"))
    assert sorted(p.name for p in interrupted.glob("*.parquet")) == clean_shards
    assert not list(interrupted.glob("*.partial"))
    for name in clean_shards:
        assert (interrupted / name).read_bytes() == (clean / name).read_bytes()

    with session_scope(engine) as session:
        from consentry.store.deliveries import running_delivery_at

        delivery = running_delivery_at(session, str(interrupted.resolve()))
        assert delivery is not None and delivery.status == "complete"
        got = [(m.post_id, m.record_pseudonym) for m in members_of(session, delivery.id)]
        want = [(m.post_id, m.record_pseudonym) for m in members_of(session, reference.delivery_id)]
    assert got == want and len(got) == len(set(got)) == reference.counts.delivered


@pytest.mark.slow
def test_resume_refuses_when_the_inputs_changed_under_finished_shards(
    engine: Engine, tmp_path: Path
) -> None:
    build_platform(engine, extra_posts=20_000)
    home = tmp_path / "home"
    env = _env(engine, home)
    out = tmp_path / "interrupted"
    _kill_after(_export_command(out), env, out, 3, tmp_path)
    with session_scope(engine) as session:  # an author of the finished shards turns private
        session.get(Account, "us_default").protected = True
    resumed = subprocess.run(
        _export_command(out, "--resume"), env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 1
    assert "changed since" in resumed.stderr and "--force" in resumed.stderr
    assert not (out / "manifest.json").exists()
