"""Crash during writes: the server (``consentry serve``, a child process) is killed with SIGKILL
while clients stream consent events; after a restart both hash chains verify
(``consentry audit verify``) and every event that was acknowledged with 201 is in the ledger."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from consentry.store.db import session_scope
from consentry.store.models import Account, ConsentEvent
from reliability.harness import Scale, Server, cli_env, consentry, seed_platform
from reliability.writers import WriteStream

CLIENTS = 4


def _stored(database_url: str, run: str) -> tuple[list[str], set[str]]:
    engine = create_engine(database_url)
    try:
        with session_scope(engine) as session:
            accounts = list(session.scalars(select(Account.id).order_by(Account.id)))
            ids = session.scalars(
                select(ConsentEvent.external_id).where(ConsentEvent.external_id.like(f"{run}-%"))
            )
            return accounts, {i for i in ids if i is not None}
    finally:
        engine.dispose()


FIRST_ACK_SECONDS = 120


def _first_ack(stream: WriteStream) -> None:
    """Wait until the stream's first write is acknowledged, so that the kill falls among them."""
    deadline = time.monotonic() + FIRST_ACK_SECONDS
    while not stream.acked and not stream.errors and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.acked, stream.errors[:5] or f"no write acknowledged in {FIRST_ACK_SECONDS} s"


@pytest.mark.slow
def test_every_acknowledged_write_survives_a_kill_and_the_chains_verify(
    database_url: str, tmp_path: Path, scale: Scale, figures: dict[str, Any]
) -> None:
    home = tmp_path / "home"
    token = seed_platform(database_url, home, accounts=200, posts=200)
    env = cli_env(home, database_url)
    accounts, _ = _stored(database_url, "none")
    rng = random.Random(7)
    acked = unanswered = 0
    for n in range(scale.write_crash_runs):
        run = f"crash{n}"
        server = Server(env, home / "server.log").wait_ready()
        stream = WriteStream(server.url, token, accounts, run, clients=CLIENTS).start()
        delay = rng.uniform(1.0, 4.0)
        _first_ack(stream)  # a loaded machine may take seconds to answer the first write
        stream.stop.wait(delay)
        server.kill()
        stream.stop.set()
        stream.join()
        assert not stream.errors, stream.errors[:5]
        with Server(env, home / "server.log"):  # restart: migrations and the app start again
            verify = consentry(env, "audit", "verify")
            assert "ok consent chain" in verify.stdout and "ok audit chain" in verify.stdout
        _, stored = _stored(database_url, run)
        missing = set(stream.acked) - stored
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:3]}"
        acked += len(stream.acked)
        unanswered += stream.unanswered
    figures.update(
        database=database_url.split(":", 1)[0],
        kills=scale.write_crash_runs,
        acknowledged=acked,
        unanswered_at_the_kill=unanswered,
        lost=0,
    )
