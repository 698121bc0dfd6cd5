"""Benchmark: the end-to-end export against a plain PyArrow read and write of the same posts.

    .venv/bin/python -m bench.export [--posts 2000000] [--accounts 200000] [--seed 7]

Every phase runs as a child process of this one, one after the other (floor, the export's SQLite
scan alone, export, floor again), so their peak RSS is measured alike (wait4 of the child) and
the noise of this shared machine lands on all; the ratios to mean(floor) are the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _child(*args: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``python -m bench.export <args>``; return (seconds, its own peak RSS MiB, stdout)."""
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
        return seconds, usage.ru_maxrss / 1024, out.read()


def floor(posts_file: Path, out: Path) -> None:
    """The floor: read the posts Parquet and write it again, batch by batch, with PyArrow."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(posts_file)
    with pq.ParquetWriter(out, source.schema_arrow, compression="zstd") as sink:
        for batch in source.iter_batches(batch_size=65_536):
            sink.write_batch(batch)


def scan(home: Path) -> None:
    """A second baseline: only the export's read of the posts out of SQLite, discarded."""
    from consentry.pipeline.sources import scan_posts
    from consentry.settings import Settings
    from consentry.store.db import get_engine

    rows = sum(
        b.num_rows
        for b in scan_posts(
            get_engine(Settings(home=home)), datetime(2025, 1, 1, tzinfo=UTC), 65_536
        )
    )
    print(json.dumps({"rows": rows}))


def export(home: Path, out: Path) -> None:
    from consentry.pipeline.export import run_export
    from consentry.settings import Settings
    from consentry.store.db import get_engine

    settings = Settings(home=home)
    result = run_export(
        get_engine(settings),
        settings,
        license_id="bench-all",
        cutoff=datetime(2025, 1, 1, tzinfo=UTC),
        out_dir=out,
        force=True,
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
    data = home / "demo"
    if marker.exists():
        return data / "posts.parquet"
    settings = Settings(home=home)
    engine = get_engine(settings)
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
    marker.touch()
    return files.posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=RESULTS / "export-home")
    parser.add_argument(
        "--phase", choices=["prepare", "floor", "scan", "export"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    home = args.home.resolve()
    if args.phase == "floor":
        floor(home / "demo" / "posts.parquet", home / "floor.parquet")
        return
    if args.phase == "export":
        export(home, home / "delivery")
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
    for label in ("floor", "scan", "export", "floor-again"):
        phase = label.split("-")[0]
        seconds, rss, out = _child("--phase", phase, "--home", str(home), env=env)
        runs[label] = {"seconds": seconds, "peak_rss_mib": rss}
        if phase == "export":
            runs[label].update(json.loads(out.strip().splitlines()[-1]))
    floor_s = (runs["floor"]["seconds"] + runs["floor-again"]["seconds"]) / 2
    ratio = runs["export"]["seconds"] / floor_s
    result = {
        "command": "python -m bench.export " + " ".join(sys.argv[1:]),
        "posts": args.posts,
        "floor_seconds_mean": floor_s,
        "floor_posts_per_s": args.posts / floor_s,
        "export_seconds": runs["export"]["seconds"],
        "export_posts_per_s": args.posts / runs["export"]["seconds"],
        "ratio_export_to_floor": ratio,
        "ratio_sqlite_scan_to_floor": runs["scan"]["seconds"] / floor_s,
        "goal_ratio": 3.0,
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "export.json").write_text(json.dumps(result, indent=2))
    print(f"{'':24}{'seconds':>10}{'posts/s':>14}{'peak RSS MiB':>14}")
    for label, run in runs.items():
        print(
            f"{label:24}{run['seconds']:>10.2f}{args.posts / run['seconds']:>14,.0f}"
            f"{run['peak_rss_mib']:>14,.0f}"
        )
    print(
        f"export / floor = {ratio:.2f}x (goal <= 3x); the SQLite scan alone = "
        f"{runs['scan']['seconds'] / floor_s:.2f}x; delivered {runs['export']['delivered']:,}"
        f" of {runs['export']['scanned']:,} scanned"
    )


if __name__ == "__main__":
    main()
