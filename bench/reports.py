"""Benchmark: every report on the demo platform, against the plain SQL count behind it.

    .venv/bin/python -m bench.reports [--accounts 100000] [--posts 1000000] [--repeat 3]

Generates and loads the synthetic demo platform once (``--home`` keeps it between runs), makes
one delivery of each demo license (so deliveries, invoices and creator payouts exist) and
withdraws 1% of the delivered authors' consent, so that deletion notices exist. Then, per
report, the median of ``--repeat`` runs of what its admin page does (the data function, the
charts rendered to SVG, the HTML), and, as the baseline in the same run, the plain SQL count
the report summarises (one ``SELECT count(*) ... GROUP BY`` over the same rows). The charts'
renderer is warmed up first (its first call starts a JavaScript engine). Writes
``bench/results/reports.json``. On PostgreSQL: ``CONSENTRY_DATABASE_URL`` names the database
(with ``?options=-csearch_path%3DSCHEMA`` for a schema of its own), and ``--home`` another
directory, as the marker of a prepared platform lives there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from consentry.reports import REPORTS, build_report
from consentry.reports.charts import svg
from consentry.reports.params import Params
from consentry.reports.render import render

RESULTS = Path(__file__).parent / "results"
GOAL_SECONDS = 2.0

BASELINES = {
    "consent": "SELECT a.jurisdiction, e.decision, count(*) FROM accounts a "
    "LEFT JOIN consent_events e ON e.account_id = a.id GROUP BY a.jurisdiction, e.decision",
    "gpc": "SELECT a.jurisdiction, count(*) FROM consent_events e JOIN accounts a "
    "ON a.id = e.account_id WHERE e.source = 'gpc' GROUP BY a.jurisdiction",
    "deliveries": "SELECT collaborator_id, license_id, count(*), sum(record_count) "
    "FROM deliveries GROUP BY collaborator_id, license_id",
    "notices": "SELECT collaborator_id, status, count(*) FROM deletion_notices "
    "GROUP BY collaborator_id, status",
    "ccpa": "SELECT decision, source, count(*) FROM consent_events GROUP BY decision, source",
    "payouts": "SELECT account_id, currency, sum(amount_minor) FROM creator_earnings "
    "GROUP BY account_id, currency",
}


def prepare(home: Path, accounts: int, posts: int, seed: int) -> Engine:
    from consentry.cli.demo import DEMO_LICENSES, ensure_demo_licenses
    from consentry.demo.load import load
    from consentry.demo.synthetic import generate
    from consentry.pipeline.export import run_export
    from consentry.pipeline.propagate import propagate
    from consentry.settings import Settings
    from consentry.store.consent import record_consent
    from consentry.store.db import get_engine, session_scope
    from consentry.store.policies import ensure_builtin_purposes
    from consentry.store.schema import upgrade

    settings = Settings(home=home)
    engine = get_engine(settings)
    marker = home / f"prepared-{accounts}-{posts}-{seed}"
    if marker.exists():
        return engine
    home.mkdir(parents=True, exist_ok=True)
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
    started = time.perf_counter()
    load(engine, generate(home / "demo", accounts=accounts, posts=posts, seed=seed), actor="b")
    print(f"demo platform in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    os.environ["CONSENTRY_HOME"] = str(home)
    ensure_demo_licenses()
    for spec in DEMO_LICENSES:
        started = time.perf_counter()
        run_export(
            engine,
            settings,
            license_id=spec["id"],
            cutoff=None,
            out_dir=home / spec["id"],
            actor="bench",
        )
        print(f"exported {spec['id']} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    with engine.connect() as conn:
        authors = [
            row[0]
            for row in conn.execute(
                text("SELECT DISTINCT account_id FROM delivery_members ORDER BY account_id")
            )
        ][::100]
    with session_scope(engine) as session:
        for account in authors:
            record_consent(
                session,
                account_id=account,
                purpose="train_ai_system",
                decision="deny",
                source="settings",
                actor="bench",
            )
    propagate(engine, account_ids=authors)
    marker.touch()
    return engine


def timed(run: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--home", type=Path, default=RESULTS / "reports-home")
    args = parser.parse_args()
    from consentry.service.web.render import templates

    engine = prepare(args.home.resolve(), args.accounts, args.posts, args.seed)
    env = templates().env
    svg({"mark": "bar", "data": {"values": []}}, element_id="warm-up")
    results = {}
    for name in REPORTS:
        params = Params(now=datetime.now(UTC))

        def page(name: str = name, params: Params = params) -> None:
            render(build_report(engine, name, params), "html", env=env)

        def count(name: str = name) -> None:
            with engine.connect() as conn:
                conn.execute(text(BASELINES[name])).all()

        seconds = timed(page, args.repeat)
        baseline = timed(count, args.repeat)
        results[name] = {
            "seconds": round(seconds, 3),
            "sql_count_seconds": round(baseline, 4),
            "ratio": round(seconds / baseline, 1) if baseline else None,
            "goal_met": seconds < GOAL_SECONDS,
        }
        print(
            f"{name:<11} {seconds:6.2f} s  (plain SQL count {baseline:7.4f} s, "
            f"{seconds / baseline:6.1f}x)  {'met' if seconds < GOAL_SECONDS else 'NOT met'}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = {
        "accounts": args.accounts,
        "posts": args.posts,
        "goal_seconds": GOAL_SECONDS,
        "reports": results,
    }
    (RESULTS / "reports.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
