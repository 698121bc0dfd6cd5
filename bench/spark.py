"""Benchmark: the Spark export job against a bare Spark SQL job doing the same read, broadcast
join with an allow table, 4 ``regexp_replace`` and write, in the same warm session; and the
embedded engine on the same posts, for the per-core efficiency.

    .venv/bin/python -m bench.spark [--posts 1000000 5000000] [--masters local[1] local[2]]

Per size, the synthetic platform of ``bench.export`` is generated and loaded once; then per
master one child process starts a SparkSession (its start timed apart) and runs bare, export,
bare again, export again (the ratio is mean(export) / mean(bare)); one child per thread count
runs the embedded engine on the same Parquet posts. Every export starts from the store as
prepared (as in ``bench.export``), not from one holding the members of the exports before it.
Results: bench/results/spark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.export import _restore_prepared, prepare

RESULTS = Path(__file__).parent / "results"
CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)
LICENSE = "bench-all"
REGEXES = [  # what a bare job would scrub: emails, phones, IPv4, URLs
    (r"[\w.+-]+@[\w-]+\.[\w.]+", "[EMAIL]"),
    (r"\+?\d[\d ().-]{7,}\d", "[PHONE]"),
    (r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "[IP]"),
    (r"https?://\S+", "[URL]"),
]


def _allow_table(home: Path) -> object:
    """The accounts whose posts the license may receive (the bare job's precomputed join)."""
    import pyarrow.compute as pc

    from consentry.pipeline.export import plan_export
    from consentry.pipeline.sources import SourceSpec
    from consentry.settings import Settings
    from consentry.store.db import get_engine

    settings = Settings(home=home)
    plan = plan_export(
        get_engine(settings),
        settings,
        license_id=LICENSE,
        cutoff=CUTOFF,
        out_dir=home / "allow-plan",
        force=True,
        source=SourceSpec.parse(f"parquet:{home / 'demo' / 'posts.parquet'}"),
    )
    snapshot = plan.context.snapshot
    return snapshot.filter(pc.is_valid(snapshot["author_pseudonym"])).select(["account_id"])


def spark_phase(home: Path, master: str) -> dict[str, object]:
    from consentry.pipeline.engines.spark import SparkEngine, spark_session
    from consentry.pipeline.export import run_export
    from consentry.pipeline.sources import SourceSpec
    from consentry.settings import Settings
    from consentry.store.db import get_engine

    posts_file = home / "demo" / "posts.parquet"
    allow = _allow_table(home)
    started = time.perf_counter()
    spark = spark_session(master)  # the engine's own settings (DRIVER_MEMORY)
    session_start = time.perf_counter() - started
    from pyspark.sql import functions as F

    allowed = spark.createDataFrame(allow)

    def bare() -> float:
        began = time.perf_counter()
        posts = spark.read.parquet(str(posts_file)).where(F.col("created_at") <= F.lit(CUTOFF))
        joined = posts.join(F.broadcast(allowed), "account_id")
        text = F.col("text")
        for pattern, placeholder in REGEXES:
            text = F.regexp_replace(text, pattern, placeholder)
        out = joined.select("id", "account_id", "created_at", "lang", text.alias("text"))
        out.write.mode("overwrite").parquet(str(home / "bare-out"))
        return time.perf_counter() - began

    settings = Settings(home=home)
    engine = get_engine(settings)

    def export() -> tuple[float, int]:
        engine.dispose()
        _restore_prepared(home)  # as bench.export: no export writes into the members of others
        began = time.perf_counter()
        result = run_export(
            engine,
            settings,
            license_id=LICENSE,
            cutoff=CUTOFF,
            out_dir=home / "spark-delivery",
            force=True,
            source=SourceSpec.parse(f"parquet:{posts_file}"),
            executor=SparkEngine(),
        )
        return time.perf_counter() - began, result.counts.delivered

    bares, exports = [bare()], []
    seconds, delivered = export()
    exports.append(seconds)
    bares.append(bare())
    exports.append(export()[0])
    spark.stop()
    return {
        "session_start_seconds": session_start,
        "bare_seconds": bares,
        "export_seconds": exports,
        "delivered": delivered,
    }


def embedded_phase(home: Path, threads: int) -> dict[str, object]:
    from consentry.pipeline.engines.embedded import EmbeddedEngine
    from consentry.pipeline.export import run_export
    from consentry.pipeline.sources import SourceSpec
    from consentry.settings import Settings
    from consentry.store.db import get_engine

    settings = Settings(home=home)
    _restore_prepared(home)
    began = time.perf_counter()
    result = run_export(
        get_engine(settings),
        settings,
        license_id=LICENSE,
        cutoff=CUTOFF,
        out_dir=home / "embedded-delivery",
        force=True,
        source=SourceSpec.parse(f"parquet:{home / 'demo' / 'posts.parquet'}"),
        executor=EmbeddedEngine(threads=threads),
    )
    return {"seconds": time.perf_counter() - began, "delivered": result.counts.delivered}


def _child(*args: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.spark", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-4000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cores(master: str) -> int:
    found = re.fullmatch(r"local\[(\d+)\]", master)
    return int(found.group(1)) if found else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--masters", nargs="+", default=["local[1]", "local[2]"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--phase", choices=["spark", "embedded"], help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--master", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "spark":
        print(json.dumps(spark_phase(args.home, args.master)))
        return
    if args.phase == "embedded":
        print(json.dumps(embedded_phase(args.home, args.threads)))
        return

    sizes = []
    for posts in args.posts:
        home = (RESULTS / f"spark-home-{posts}").resolve()
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CONSENTRY_HOME": str(home)}
        env.pop("CONSENTRY_DATABASE_URL", None)
        prepare(home, posts, max(10_000, posts // 10), args.seed)
        load = os.getloadavg()[0]
        size: dict[str, object] = {"posts": posts, "load_average_before": load, "masters": {}}
        for master in args.masters:
            cores = _cores(master)
            run = _child("--phase", "spark", "--home", str(home), "--master", master, env=env)
            embedded = _child(
                "--phase", "embedded", "--home", str(home), "--threads", str(cores), env=env
            )
            bare = statistics.mean(run["bare_seconds"])  # type: ignore[arg-type]
            export = statistics.mean(run["export_seconds"])  # type: ignore[arg-type]
            emb = float(embedded["seconds"])  # type: ignore[arg-type]
            run.update(
                {
                    "ratio_export_to_bare": export / bare,
                    "goal_ratio": 1.5,
                    "embedded_seconds": emb,
                    "spark_posts_per_core_s": posts / export / cores,
                    "embedded_posts_per_core_s": posts / emb / cores,
                    "per_core_efficiency_vs_embedded": emb / export,
                }
            )
            size["masters"][master] = run  # type: ignore[index]
            print(
                f"{posts:>10,} {master:9} session {run['session_start_seconds']:.1f}s  "
                f"bare {bare:.1f}s  export {export:.1f}s  = {export / bare:.2f}x (goal 1.5x)  "
                f"embedded({cores} thr) {emb:.1f}s  spark per core {emb / export:.2f}x embedded",
                flush=True,
            )
        size["load_average_after"] = os.getloadavg()[0]
        sizes.append(size)
    RESULTS.mkdir(exist_ok=True)
    result = {"command": "python -m bench.spark " + " ".join(sys.argv[1:]), "sizes": sizes}
    partial = RESULTS / "spark.json.partial"
    partial.write_text(json.dumps(result, indent=2))
    partial.replace(RESULTS / "spark.json")


if __name__ == "__main__":
    main()
