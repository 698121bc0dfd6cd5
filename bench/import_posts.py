"""Benchmark: importing posts from Parquet into SQLite against a bare executemany of the same rows.

    .venv/bin/python -m bench.import_posts [--posts 1000000] [--accounts N] [--seed 7]

Writes N synthetic posts (and their accounts) as Parquet, then times, in this one process:
(a) a bare ``executemany`` of the same rows, already Python tuples in the stored layout, into an
empty SQLite table of the same columns with no index but the primary key; (b) ``import_file``
of the Parquet file into a freshly migrated SQLite database (read, validate, check accounts,
stage, merge, audit). Order is bare / import / bare, so the noise of this shared machine lands on
both sides; the figure is import / mean(bare), the goal at most 2. Results go to
bench/results/import_posts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

RESULTS = Path(__file__).parent / "results"
GOAL = 2.0
WORDS = np.array(
    "the a and to of in is it that for on was with as at by this be from have or are not "
    "but you my we they new today just time good people love one day great year post think "
    "photo news city team music game really know still work back first home world".split()
)
LANGS = np.array(["en", "en", "en", "de", "fr", "es", "pt", "ja", None], dtype=object)
VISIBILITY = np.array(["public"] * 17 + ["protected", "direct"])
START = int(datetime(2022, 1, 1, tzinfo=UTC).timestamp() * 1e6)
SPAN = int(3 * 365 * 86_400 * 1e6)


def synthetic(posts: int, accounts: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """Accounts and posts with realistic shapes, built column by column (no per-row Python)."""
    rng = np.random.default_rng(seed)
    account_ids = pc.binary_join_element_wise(
        "u", pa.array(np.arange(accounts)).cast(pa.string()), ""
    )
    account_table = pa.table(
        {
            "id": account_ids,
            "handle": pc.binary_join_element_wise("user_", account_ids, ""),
            "jurisdiction": pa.array(
                rng.choice(["DE", "FR", "GB", "US-CA", "US-TX", "JP"], accounts)
            ),
            "protected": pa.array(rng.random(accounts) < 0.05),
        }
    )
    created = np.sort(rng.integers(START, START + SPAN, posts))
    ids = pa.array(1_500_000_000_000_000_000 + created * 4096 // 1000 + np.arange(posts) % 4096)
    words = [pa.array(rng.choice(WORDS, posts)) for _ in range(14)]
    replies = rng.random(posts) < 0.2
    reply_to = pc.if_else(
        pa.array(replies), pa.array(rng.integers(1, posts, posts)).cast(pa.string()), None
    )
    post_table = pa.table(
        {
            "id": ids.cast(pa.string()),
            "account_id": pa.array(account_ids).take(pa.array(rng.integers(0, accounts, posts))),
            "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
            "text": pc.binary_join_element_wise(*words, " "),
            "lang": pa.array(LANGS[rng.integers(0, LANGS.size, posts)], pa.string()),
            "visibility": pa.array(VISIBILITY[rng.integers(0, VISIBILITY.size, posts)]),
            "reply_to": reply_to,
            "deleted_at": pa.nulls(posts, pa.timestamp("us", tz="UTC")),
            "like_count": pa.array(rng.poisson(3, posts)),
            "repost_count": pa.array(rng.poisson(0.5, posts)),
            "reply_count": pa.array(rng.poisson(1, posts)),
        }
    )
    return account_table, post_table


def bare_insert(rows: list[tuple], columns: list[str], folder: Path) -> float:
    """Seconds for executemany + commit of ``rows`` into an empty table with only a primary key."""
    path = folder / f"bare-{time.monotonic_ns()}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    types = {
        "id": "VARCHAR(64) PRIMARY KEY",
        "account_id": "VARCHAR(64)",
        "created_at": "DATETIME",
        "text": "TEXT",
        "lang": "VARCHAR(16)",
        "visibility": "VARCHAR(16)",
        "reply_to": "VARCHAR(64)",
        "deleted_at": "DATETIME",
    }
    definitions = ", ".join(f"{c} {types.get(c, 'INTEGER')}" for c in columns)
    conn.execute(f"CREATE TABLE posts ({definitions})")
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO posts VALUES ({', '.join('?' * len(columns))})", rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=None, help="default: posts / 10")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from consentry.ingest import import_file
    from consentry.store.content import sqlite_layout
    from consentry.store.db import make_engine, session_scope
    from consentry.store.policies import ensure_builtin_purposes
    from consentry.store.schema import upgrade

    accounts, posts = synthetic(args.posts, args.accounts or max(args.posts // 10, 1), args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        pq.write_table(accounts, folder / "accounts.parquet")
        pq.write_table(posts, folder / "posts.parquet")
        stored = sqlite_layout(posts)
        rows = list(zip(*(column.to_pylist() for column in stored.columns), strict=True))

        engine = make_engine(f"sqlite:///{folder / 'consentry.db'}")
        upgrade(engine)
        with session_scope(engine) as session:
            ensure_builtin_purposes(session)
        started = time.perf_counter()
        import_file(engine, "accounts", folder / "accounts.parquet", actor="bench")
        accounts_seconds = time.perf_counter() - started

        bare_before = bare_insert(rows, stored.column_names, folder)
        started = time.perf_counter()
        report = import_file(engine, "posts", folder / "posts.parquet", actor="bench")
        import_seconds = time.perf_counter() - started
        bare_after = bare_insert(rows, stored.column_names, folder)
        engine.dispose()

    assert report.inserted == args.posts, report
    bare = (bare_before + bare_after) / 2
    ratio = import_seconds / bare
    result = {
        "posts": args.posts,
        "accounts": accounts.num_rows,
        "bare_executemany_seconds": [round(bare_before, 3), round(bare_after, 3)],
        "bare_posts_per_second": round(args.posts / bare),
        "import_seconds": round(import_seconds, 3),
        "import_posts_per_second": round(args.posts / import_seconds),
        "ratio_import_to_bare": round(ratio, 3),
        "goal_ratio_at_most": GOAL,
        "goal_met": ratio <= GOAL,
        "accounts_import_seconds": round(accounts_seconds, 3),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "import_posts.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"bare executemany: {result['bare_posts_per_second']:>10,} posts/s "
        f"({bare_before:.2f} s, {bare_after:.2f} s)"
    )
    print(
        f"import_file:      {result['import_posts_per_second']:>10,} posts/s "
        f"({import_seconds:.2f} s)"
    )
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"ratio import / bare: {ratio:.2f} (goal <= {GOAL}: {verdict})")


if __name__ == "__main__":
    main()
