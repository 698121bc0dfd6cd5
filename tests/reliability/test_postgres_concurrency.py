"""Concurrency on PostgreSQL: writer processes append consent events while an export and a
propagation pass run against the same database. Every event is stored once, the chain verifies,
the export verifies, and everything ends within its time limit (no deadlock)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from consentry.store.db import session_scope
from consentry.store.ledger import verify_consent_chain
from consentry.store.models import Account, ConsentEvent
from reliability.harness import LICENSE, Scale, cli_env, consentry, seed_platform
from reliability.writers import append_events

LIMIT_SECONDS = 600
"""Far beyond what the work needs: a run that takes longer is stuck."""


def _count(database_url: str, prefix: str) -> tuple[int, int, list[str]]:
    engine = create_engine(database_url)
    try:
        with session_scope(engine) as session:
            external = ConsentEvent.external_id.like(f"{prefix}%")
            total = session.scalar(select(func.count()).where(external)) or 0
            distinct = session.scalar(
                select(func.count(func.distinct(ConsentEvent.external_id))).where(external)
            )
            accounts = list(session.scalars(select(Account.id).order_by(Account.id)))
            return total, distinct or 0, accounts
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_writers_an_export_and_propagation_at_once_lose_nothing(
    postgres_url: str, tmp_path: Path, scale: Scale, figures: dict[str, Any]
) -> None:
    home = tmp_path / "home"
    seed_platform(postgres_url, home, scale.accounts, scale.posts)
    env = cli_env(home, postgres_url)
    consentry(env, "export", "--license", LICENSE, "--out", str(tmp_path / "first"))
    _, _, accounts = _count(postgres_url, "none")

    command = [sys.executable, "-m", "consentry"]
    second = tmp_path / "second"
    spawn = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with ProcessPoolExecutor(scale.writers, mp_context=spawn) as pool:
        writers = [
            pool.submit(append_events, postgres_url, accounts, f"w{n}-", scale.events_per_writer)
            for n in range(scale.writers)
        ]
        side = [
            subprocess.Popen([*command, "export", "--license", LICENSE, "--out", str(second)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            subprocess.Popen([*command, "notices", "propagate"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        ]  # fmt: skip
        seconds = [w.result(timeout=LIMIT_SECONDS) for w in writers]
        elapsed = time.perf_counter() - started
        for process in side:
            out, err = process.communicate(timeout=LIMIT_SECONDS)
            assert process.returncode == 0, f"{process.args[3:]} failed:\n{out[-2000:]}{err}"
    consentry(env, "verify", str(second))

    sent = scale.writers * scale.events_per_writer
    total, distinct, _ = _count(postgres_url, "w")
    assert total == distinct == sent, f"{sent} events sent, {total} stored ({distinct} distinct)"
    engine = create_engine(postgres_url)
    with session_scope(engine) as session:
        chain = verify_consent_chain(session)
    engine.dispose()
    assert chain.ok, chain.first_break
    figures.update(
        database="postgresql",
        writer_processes=scale.writers,
        events=sent,
        stored=total,
        chain_events_checked=chain.checked,
        seconds=round(elapsed, 1),
        writes_per_s=round(sent / elapsed, 1),
        slowest_writer_s=round(max(seconds), 1),
        with_export_and_propagation=True,
    )
