"""What the reliability tests share: the CLI and the server as child processes, a free loopback
port, a demo platform in a real database, and the sizes of a quick and a long run.

Everything runs for real: ``python -m consentry`` subprocesses (so ``kill -9`` is a real crash),
the database named by a URL, files on disk.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

PLATFORM_SECRET = "reliability-platform-secret-0123456789abcdef"
SESSION_SECRET = "reliability-session-secret-0123456789abcdef"
LICENSE = "rel-all"
"""The license every reliability run exports: Northwind's public posts and replies."""


@dataclass(frozen=True)
class Scale:
    """How much each test does: ``quick`` in CI, ``long`` behind ``make reliability``."""

    name: str
    accounts: int
    posts: int
    export_crash_runs: int
    export_engines: tuple[str, ...]
    """The engines whose exports are killed (CI kills Spark's in the equivalence tests)."""
    write_crash_runs: int
    writers: int
    events_per_writer: int
    api_examples: int
    """Hypothesis examples per API operation and credential kind in one schemathesis run."""
    api_requests: int
    """Requests per credential kind at the least: schemathesis runs again, with the next seed,
    until its answers add up to this many."""
    file_examples: int
    """Hypothesis examples per importer format."""


SCALES = {
    "quick": Scale("quick", 300, 3_000, 2, ("embedded",), 1, 4, 100, 25, 2_000, 15),
    "long": Scale("long", 1_000, 10_000, 20, ("embedded", "spark"), 5, 8, 2_000, 60, 10_000, 200),
}


def current_scale() -> Scale:
    name = os.environ.get("CONSENTRY_RELIABILITY_SCALE", "quick")
    if name not in SCALES:
        raise SystemExit(f"CONSENTRY_RELIABILITY_SCALE={name!r}: expected one of {sorted(SCALES)}")
    return SCALES[name]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(home: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``consentry`` child process on this home and database."""
    return {
        **os.environ,
        "CONSENTRY_HOME": str(home),
        "CONSENTRY_DATABASE_URL": database_url,
        "CONSENTRY_PLATFORM_SECRET": PLATFORM_SECRET,
        "CONSENTRY_SESSION_SECRET": SESSION_SECRET,
        "COLUMNS": "200",
        **extra,
    }


def consentry(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``consentry ARGS`` to the end; with ``check``, fail the test showing its output."""
    done = subprocess.run(
        [sys.executable, "-m", "consentry", *args], env=env, capture_output=True, text=True
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"consentry {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


def seed_platform(database_url: str, home: Path, accounts: int, posts: int) -> str:
    """The demo platform (seed 7) loaded through the importers, the license ``LICENSE`` and a
    platform token, which is returned."""
    from consentry.demo.load import load
    from consentry.demo.synthetic import generate
    from consentry.store.credentials import create_platform_token
    from consentry.store.db import make_engine, session_scope
    from consentry.store.parties import add_license
    from consentry.store.policies import ensure_builtin_purposes
    from consentry.store.schema import upgrade

    files = generate(home / "demo", accounts=accounts, posts=posts, seed=7)
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            ensure_builtin_purposes(session)
        load(engine, files, actor="reliability")
        with session_scope(engine) as session:
            add_license(
                session,
                id=LICENSE,
                collaborator_id="northwind-ai",
                purpose="train_ai_system",
                scope={"kinds": ["post", "reply"], "public_only": True},
                term_start=datetime(2024, 1, 1, tzinfo=UTC),
                actor="reliability",
            )
            return create_platform_token(session, name="reliability", actor="reliability")[1]
    finally:
        engine.dispose()


class Server:
    """``consentry serve`` in a child process on a free loopback port; ``kill()`` is kill -9."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "consentry", "serve", "--port", str(self.port),
                 "--workers", str(workers)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 90) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the server did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a power cut or the OOM killer."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Server:
        return self.wait_ready()

    def __exit__(self, *_: object) -> None:
        self.stop()


def write_report(path: Path, figures: dict[str, object]) -> None:
    """The figures as JSON, written under a temporary name and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(partial, path)
