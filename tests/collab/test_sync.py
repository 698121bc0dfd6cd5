"""The collaborator's side end to end: the real service on a loopback port, a real export, and
``consentry collab sync`` keeping a verified copy that honours a user's withdrawal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from consentry.cli import app as consentry_app
from consentry.cli.collab import collab_app
from consentry.collab.local import (
    APPLIED_FILE,
    JOURNAL_FILE,
    STATE_FILE,
    load_state,
    rewrite_shard,
    save_state,
    verify_local,
)
from consentry.pipeline.export import run_export
from consentry.pipeline.manifest import sha256_file
from consentry.pipeline.propagate import propagate
from consentry.service.app import create_app
from consentry.service.background import running
from consentry.service.config import ServiceSettings
from consentry.store.consent import record_consent
from consentry.store.credentials import create_api_key
from consentry.store.db import session_scope
from consentry.store.deliveries import members_of
from consentry.store.notices import get_notice
from pipeline.export_platform import CUTOFF, build_platform
from service.world import service_settings

WITHDRAWN = "us_default"
"""Delivered under nw-all with posts p01 and p13; withdraws after delivery."""


@dataclass(frozen=True)
class World:
    engine: Engine
    settings: ServiceSettings
    url: str
    delivery_id: str
    platform_copy: Path
    tmp: Path

    def key_file(self, scopes: list[str] | None = None) -> Path:
        with session_scope(self.engine) as session:
            key = create_api_key(
                session, collaborator_id="northwind-ai", scopes=scopes, actor="test"
            )[1]
        path = self.tmp / f"key-{len(list(self.tmp.glob('key-*')))}"
        path.write_text(key + "\n")
        return path

    def pseudonyms_of(self, *posts: str) -> set[str]:
        with session_scope(self.engine) as session:
            members = members_of(session, self.delivery_id)
            return {m.record_pseudonym for m in members if m.post_id in posts}


def _serve(engine: Engine, tmp: Path) -> Iterator[World]:
    build_platform(engine)
    settings = service_settings(tmp / "home", engine)
    result = run_export(
        engine, settings, license_id="nw-all", cutoff=CUTOFF, out_dir=tmp / "platform" / "d1"
    )
    app = create_app(settings, engine=engine)
    with running(app) as url:
        yield World(engine, settings, url, result.delivery_id, result.path, tmp)
    app.state.reader.dispose()


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    """On SQLite and on PostgreSQL."""
    yield from _serve(engine, tmp_path)


@pytest.fixture
def sqlite_world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[World]:
    yield from _serve(sqlite_engine, tmp_path)


def sync_in_process(world: World, data: Path, key_file: Path) -> str:
    """``consentry-collab sync`` (the console script's own app), in this process."""
    result = CliRunner().invoke(
        collab_app,
        ["sync", "--api", world.url, "--key-file", str(key_file), "--dir", str(data)],
    )
    assert result.exit_code == 0, result.output
    return result.output


def withdraw(world: World) -> int:
    with session_scope(world.engine) as session:
        record_consent(
            session,
            account_id=WITHDRAWN,
            purpose="train_ai_system",
            decision="deny",
            source="settings",
            actor=f"user:{WITHDRAWN}",
        )
    report = propagate(world.engine, account_ids=[WITHDRAWN])
    (notice_id,) = report.notices
    return notice_id


def record_ids(directory: Path) -> list[str]:
    return [
        record
        for shard in sorted(directory.glob("*.parquet"))
        for record in pq.read_table(shard, columns=["record_id"])["record_id"].to_pylist()
    ]


def snapshot(data: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(data)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(data.rglob("*"))
        if p.is_file()
    }


def test_sync_keeps_a_verified_copy_and_deletes_what_a_user_withdrew(
    world: World, tmp_path: Path
) -> None:
    data, key_file = tmp_path / "collab", world.key_file()
    # 1. The collaborator's first sync, as it runs it: the command line, in its own process.
    first = subprocess.run(
        [sys.executable, "-m", "consentry", "collab", "sync", "--api", world.url,
         "--key-file", str(key_file), "--dir", str(data)],
        capture_output=True, text=True, env=os.environ.copy(), timeout=120,
    )  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    assert "deliveries downloaded" in first.stdout and world.delivery_id in first.stdout
    local = data / world.delivery_id
    assert sorted(p.name for p in data.iterdir()) == [world.delivery_id, STATE_FILE]
    for shard in world.platform_copy.glob("*.parquet"):
        assert (local / shard.name).read_bytes() == shard.read_bytes()
    assert verify_local(local).ok
    delivered = record_ids(local)
    gone = world.pseudonyms_of("p01", "p13")
    assert len(gone) == 2 and gone <= set(delivered)

    # 2. The user withdraws; propagation issues a notice; the next sync applies it.
    notice_id = withdraw(world)
    output = sync_in_process(world, data, key_file)
    assert "notices applied" in output and str(notice_id) in output
    assert record_ids(local) == [r for r in delivered if r not in gone]  # order kept
    rewritten = sorted(json.loads((local / APPLIED_FILE).read_text())["shards"])
    assert rewritten  # the shard(s) that held p01 and p13
    on_disk = [
        {"delivery_id": world.delivery_id, "name": name, "sha256": sha256_file(local / name)}
        for name in rewritten
    ]
    with session_scope(world.engine) as session:
        notice = get_notice(session, notice_id)
        assert notice.status == "acknowledged"
        assert notice.acknowledgement is not None
        assert notice.acknowledgement["shards"] == on_disk
    journal = [json.loads(line) for line in (local / JOURNAL_FILE).read_text().splitlines()]
    assert sum(line["records_removed"] for line in journal) == 2
    assert {line["notice_id"] for line in journal} == {notice_id}
    state = json.loads((data / STATE_FILE).read_text())
    assert state["notice_cursor"] == notice_id and state["unacknowledged"] == {}

    # The signed manifest is kept as delivered; verify explains the rewrite instead of failing.
    report = verify_local(local)
    assert report.ok, report.problems
    assert any("rewritten locally for deletion notice" in c.message for c in report.checks)
    cli = CliRunner().invoke(consentry_app, ["verify", str(local)])
    assert cli.exit_code == 0, cli.output

    # 3. A second sync changes nothing.
    before = snapshot(data)
    again = sync_in_process(world, data, key_file)
    assert "nothing new" in again
    assert snapshot(data) == before


def test_a_delivery_changed_on_the_way_is_refused_and_nothing_is_kept(
    sqlite_world: World, tmp_path: Path
) -> None:
    world, data = sqlite_world, tmp_path / "collab"
    shard = sorted(world.platform_copy.glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-16] + b"\0" * 16)  # served, but not what was signed
    result = CliRunner().invoke(
        collab_app,
        ["sync", "--api", world.url, "--key-file", str(world.key_file()), "--dir", str(data)],
    )
    assert result.exit_code == 1
    assert f"refused {world.delivery_id}" in result.output and "SHA-256" in result.output
    assert list(data.iterdir()) == []  # no delivery, no partial directory


def test_an_acknowledgement_that_could_not_be_sent_is_sent_by_the_next_sync(
    sqlite_world: World, tmp_path: Path
) -> None:
    world, data = sqlite_world, tmp_path / "collab"
    no_ack = world.key_file(["deliveries:read", "notices:read"])
    sync_in_process(world, data, no_ack)
    notice_id = withdraw(world)
    output = sync_in_process(world, data, no_ack)  # applied; the ack is refused (403)
    assert "not acknowledged yet" in output
    state = json.loads((data / STATE_FILE).read_text())
    assert state["notice_cursor"] == notice_id and str(notice_id) in state["unacknowledged"]
    assert not set(record_ids(data / world.delivery_id)) & world.pseudonyms_of("p01", "p13")
    with session_scope(world.engine) as session:
        assert get_notice(session, notice_id).status == "issued"

    sync_in_process(world, data, world.key_file())
    with session_scope(world.engine) as session:
        notice = get_notice(session, notice_id)
        assert notice.status == "acknowledged" and notice.acknowledgement is not None
        shards = notice.acknowledgement["shards"]
    local = data / world.delivery_id
    assert shards and all(s["sha256"] == sha256_file(local / s["name"]) for s in shards)
    assert json.loads((data / STATE_FILE).read_text())["unacknowledged"] == {}


def test_a_crash_after_a_shard_was_rewritten_but_before_it_was_recorded_is_finished_next_run(
    sqlite_world: World, tmp_path: Path
) -> None:
    """The state a run killed right after the rename leaves: the notice marked as being applied,
    the shard rewritten on disk, nothing in deletions.jsonl or applied-notices.json."""
    world, data, key_file = sqlite_world, tmp_path / "collab", sqlite_world.key_file()
    sync_in_process(world, data, key_file)
    notice_id = withdraw(world)
    local, gone = data / world.delivery_id, world.pseudonyms_of("p01", "p13")
    state = load_state(data)
    state.applying = notice_id
    save_state(data, state)
    crashed = [
        name
        for shard in sorted(local.glob("*.parquet"))
        if rewrite_shard(shard, pa.array(sorted(gone))) and (name := shard.name)
    ]
    assert crashed and not (local / APPLIED_FILE).exists()

    sync_in_process(world, data, key_file)
    assert not set(record_ids(local)) & gone
    assert verify_local(local).ok
    with session_scope(world.engine) as session:
        acknowledgement = get_notice(session, notice_id).acknowledgement
    assert acknowledgement is not None
    assert [s["name"] for s in acknowledgement["shards"]] == crashed
    assert all(s["sha256"] == sha256_file(local / s["name"]) for s in acknowledgement["shards"])
    (line,) = [json.loads(x) for x in (local / JOURNAL_FILE).read_text().splitlines()]
    assert line["notice_id"] == notice_id and line["records_removed"] == 2
    # The local record explains the rewrite, it does not excuse any other change.
    shard = local / crashed[0]
    shard.write_bytes(shard.read_bytes()[:-16] + b"\0" * 16)
    problems = verify_local(local).problems
    assert problems and str(shard) in problems[0]
