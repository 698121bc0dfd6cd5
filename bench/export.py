"""Benchmark: the end-to-end export, from the store (SQLite) and from the posts Parquet lake,
against a plain PyArrow read and write of the same posts, with a hand-written DuckDB peer.

    .venv/bin/python -m bench.export [--posts 2000000] [--accounts 200000] [--seed 7]

Every phase runs as a child process of this one, one after the other (floor, the DuckDB peer,
the export from the Parquet lake, the export from the store, the store's scan alone, floor
again), so their peak RSS is measured alike (wait4 of the child) and the noise of this shared
machine lands on all; the ratios to mean(floor) are the figures, and the two floors' spread
is the noise. Each export starts from the store as prepared (a copy kept beside it, put back
before the child starts): otherwise every run would add its 270,000 members to the ones
before and the next export would write into ever larger indexes.

The peer is a DuckDB ``COPY`` from the Parquet file joined with a precomputed allow table
(accounts the export's snapshot allows at both moments), with the export's six redaction
patterns as ``regexp_replace`` (no validation) and HMAC pseudonyms of three id columns: a part
of the export's work, done the quickest way we know.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

RESULTS = Path(__file__).parent / "results"
CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)
GOALS = {"export-parquet": 1.0, "export-store": 2.5}
"""At most this many times the floor (issue 9); peak RSS under 1 GiB for every export."""


def _child(*args: str, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run ``python -m bench.export <args>``; return (seconds, CPU seconds of it and the
    children it waited for, its own peak RSS MiB, stdout)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.export", *args], env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if status:
            raise SystemExit(f"{' '.join(args)} failed:\n{err.read()}")
        cpu = usage.ru_utime + usage.ru_stime
        return seconds, cpu, usage.ru_maxrss / 1024, out.read()


def floor(posts_file: Path, out: Path) -> None:
    """The floor: read the posts Parquet and write it again, batch by batch, with PyArrow."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(posts_file)
    with pq.ParquetWriter(out, source.schema_arrow, compression="zstd") as sink:
        for batch in source.iter_batches(batch_size=65_536):
            sink.write_batch(batch)


def scan(home: Path) -> None:
    """A second baseline: only the export's read of the posts out of SQLite (in table order,
    as the export reads it), discarded."""
    from consentry.pipeline.sources import scan_posts
    from consentry.settings import Settings
    from consentry.store.db import get_engine

    rows = sum(
        b.num_rows for b in scan_posts(get_engine(Settings(home=home)), CUTOFF, 65_536, order=False)
    )
    print(json.dumps({"rows": rows}))


def peer(home: Path, out: Path) -> None:
    """The hand-written DuckDB peer (see the module docstring)."""
    from consentry.domain import consent_bulk
    from consentry.pipeline.pii_rules import RULES
    from consentry.pipeline.pseudonymize import hmac_parameters, hmac_sql
    from consentry.pipeline.redact import PLACEHOLDERS

    text = "text"
    for kind, pattern in RULES.items():
        text = f"regexp_replace({text}, '{pattern.replace(chr(39), chr(39) * 2)}', "
        text += f"'{PLACEHOLDERS[kind]}', 'g')"
    con = consent_bulk.connect()
    con.execute(
        f"""COPY (
        SELECT {hmac_sql("'post:' || p.id")} AS record_id,
               {hmac_sql("'account:' || p.account_id")} AS author_id,
               p.created_at, p.lang, p.kind, {hmac_sql("'post:' || p.reply_to")} AS reply_to_id,
               {text} AS text, p.like_count, p.repost_count, p.reply_count
        FROM read_parquet('{home / "demo" / "posts.parquet"}') p
        JOIN read_parquet('{home / "allow.parquet"}') a ON a.account_id = p.account_id
        WHERE p.created_at <= TIMESTAMPTZ '{CUTOFF.isoformat()}' AND p.visibility = 'public'
          AND p.kind IN ('post', 'reply') AND p.deleted_at IS NULL
        ORDER BY p.id
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)""",
        parameters=hmac_parameters(b"bench-peer-key"),
    )


def export(home: Path, out: Path, source: str) -> None:
    from consentry.pipeline.export import run_export
    from consentry.pipeline.sources import SourceSpec
    from consentry.settings import Settings
    from consentry.store.db import get_engine

    settings = Settings(home=home)
    spec = SourceSpec.parse(
        "store" if source == "store" else f"parquet:{home / 'demo' / 'posts.parquet'}"
    )
    result = run_export(
        get_engine(settings),
        settings,
        license_id="bench-all",
        cutoff=CUTOFF,
        out_dir=out,
        force=True,
        source=spec,
    )
    print(
        json.dumps(
            {
                "delivered": result.counts.delivered,
                "scanned": result.counts.scanned,
                "shards": result.shards,
                "seconds_inside": result.seconds,
            }
        )
    )


def prepare(home: Path, posts: int, accounts: int, seed: int) -> Path:
    """Generate and load the synthetic platform once; later runs reuse it."""
    from consentry.demo.load import load
    from consentry.demo.synthetic import generate
    from consentry.errors import NotFound
    from consentry.settings import Settings
    from consentry.store.db import get_engine, session_scope
    from consentry.store.parties import add_license, get_license
    from consentry.store.policies import ensure_builtin_purposes
    from consentry.store.schema import upgrade

    marker = home / f"prepared-{posts}-{accounts}-{seed}"
    if marker.exists() and (home / PRISTINE).exists():
        return home / "demo" / "posts.parquet"
    data = home / "demo"
    settings = Settings(home=home)
    engine = get_engine(settings)
    if marker.exists():
        if not (home / "allow.parquet").exists():
            _allow_table(engine, home / "allow.parquet")
        _keep_prepared(home)
        return data / "posts.parquet"
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
    started = time.perf_counter()
    files = generate(data, accounts=accounts, posts=posts, seed=seed)
    print(f"generated {posts:,} posts in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    started = time.perf_counter()
    load(engine, files, actor="bench")
    print(f"loaded in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    with session_scope(engine) as session:
        try:
            get_license(session, "bench-all")
        except NotFound:
            add_license(
                session,
                id="bench-all",
                collaborator_id="northwind-ai",
                purpose="train_ai_system",
                scope={"kinds": ["post", "reply"]},
                term_start=datetime(2024, 1, 1, tzinfo=UTC),
                actor="bench",
            )
    _allow_table(engine, home / "allow.parquet")
    engine.dispose()
    _keep_prepared(home)
    marker.touch()
    return files.posts


PRISTINE = "prepared.db"
"""The store as prepared, before any export: each export phase starts from a copy of it."""


def _keep_prepared(home: Path) -> None:
    import shutil
    import sqlite3

    with contextlib.closing(sqlite3.connect(home / "consentry.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(home / "consentry.db", home / PRISTINE)


def _restore_prepared(home: Path) -> None:
    import shutil

    for suffix in ("-wal", "-shm"):
        (home / f"consentry.db{suffix}").unlink(missing_ok=True)
    shutil.copyfile(home / PRISTINE, home / "consentry.db")
    os.sync()  # not the export's writes: flushed before its child starts


def _allow_table(engine: Engine, out: Path) -> None:
    """The peer's allow table: accounts whose consent allows sharing at the cut-off and now."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from consentry.store.snapshot import consent_inputs

    inputs = consent_inputs(engine, purpose="train_ai_system")
    snapshot = inputs.snapshot(
        purpose="train_ai_system",
        collaborator_id="northwind-ai",
        cutoff=CUTOFF,
        as_of=datetime.now(UTC),
    )
    allowed = pc.and_(
        pc.invert(pc.or_(pc.or_(snapshot["deleted"], snapshot["minor"]), snapshot["protected"])),
        pc.and_(pc.is_null(snapshot["reason_t"]), pc.is_null(snapshot["reason_now"])),
    )
    pq.write_table(snapshot.filter(allowed).select(["account_id"]), out)


PHASES = ("floor", "peer", "export-parquet", "export-store", "scan", "floor-again")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=None, help="default: results/export-home-N")
    parser.add_argument("--phase", choices=["prepare", *PHASES], help=argparse.SUPPRESS)
    args = parser.parse_args()
    home = (args.home or RESULTS / f"export-home-{args.posts}").resolve()
    if args.phase in ("floor", "floor-again"):
        floor(home / "demo" / "posts.parquet", home / "floor.parquet")
        return
    if args.phase == "peer":
        peer(home, home / "peer.parquet")
        return
    if args.phase in ("export-parquet", "export-store"):
        export(home, home / args.phase, args.phase.split("-")[1])
        return
    if args.phase == "scan":
        scan(home)
        return
    if args.phase == "prepare":
        prepare(home, args.posts, args.accounts, args.seed)
        return

    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CONSENTRY_HOME": str(home)}
    env.pop("CONSENTRY_DATABASE_URL", None)
    # In a child too: this process must stay small, since a child's peak RSS starts from ours.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.export",
            "--phase",
            "prepare",
            "--home",
            str(home),
            "--posts",
            str(args.posts),
            "--accounts",
            str(args.accounts),
            "--seed",
            str(args.seed),
        ],
        env=env,
        check=True,
    )
    runs = {}
    for phase in PHASES:
        if phase.startswith("export"):
            _restore_prepared(home)
        seconds, cpu, rss, out = _child("--phase", phase, "--home", str(home), env=env)
        runs[phase] = {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": rss}
        if phase.startswith("export"):
            runs[phase].update(json.loads(out.strip().splitlines()[-1]))
    floors = [runs["floor"]["seconds"], runs["floor-again"]["seconds"]]
    floor_s = sum(floors) / 2
    ratios = {phase: run["seconds"] / floor_s for phase, run in runs.items()}
    # CPU seconds are less disturbed by other work on a shared machine than wall seconds (a
    # second view of the same runs, not the goal).
    floor_cpu = (runs["floor"]["cpu_seconds"] + runs["floor-again"]["cpu_seconds"]) / 2
    cpu_ratios = {phase: run["cpu_seconds"] / floor_cpu for phase, run in runs.items()}
    result = {
        "command": "python -m bench.export " + " ".join(sys.argv[1:]),
        "posts": args.posts,
        "accounts": args.accounts,
        "floor_seconds_mean": floor_s,
        "floor_spread": max(floors) / min(floors),
        "ratios_to_floor": ratios,
        "cpu_ratios_to_floor": cpu_ratios,
        "goals": GOALS,
        "peak_rss_goal_mib": 1024,
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    partial = RESULTS / "export.json.partial"
    partial.write_text(json.dumps(result, indent=2))
    partial.replace(RESULTS / "export.json")
    print(
        f"{'':16}{'seconds':>10}{'posts/s':>14}{'x floor':>10}{'CPU s':>8}{'CPU x floor':>13}"
        f"{'peak RSS MiB':>14}"
    )
    for phase, run in runs.items():
        print(
            f"{phase:16}{run['seconds']:>10.2f}{args.posts / run['seconds']:>14,.0f}"
            f"{ratios[phase]:>10.2f}{run['cpu_seconds']:>8.2f}{cpu_ratios[phase]:>13.2f}"
            f"{run['peak_rss_mib']:>14,.0f}"
        )
    print(
        f"goals: export-parquet <= {GOALS['export-parquet']}x, export-store <= "
        f"{GOALS['export-store']}x the floor, peak RSS < 1 GiB; floors differ by "
        f"{result['floor_spread']:.2f}x (the noise); delivered "
        f"{runs['export-store']['delivered']:,} of {runs['export-store']['scanned']:,} scanned"
    )


if __name__ == "__main__":
    main()
