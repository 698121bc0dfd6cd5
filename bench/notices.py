"""Benchmark: deletion notices for withdrawals after delivery, and a consent write's cost.

    .venv/bin/python -m bench.notices [--accounts 100000] [--posts-per-account 5]
        [--deliveries 20] [--withdrawals 1000] [--writes 300]

Builds, in a SQLite database of its own, a platform whose every post was delivered in each of
``--deliveries`` complete deliveries of one license (100,000 accounts x 5 posts x 20 deliveries
= 10,000,000 records in the membership), then ``--withdrawals`` accounts switch sharing off and
``pipeline.propagate.propagate`` computes and issues their deletion notices. The baseline in the
same run is the bare indexed lookup of those accounts' delivered records (one query, the ids as
one JSON parameter). Then consent writes through the platform API on a served app, one client
at a time, with background propagation on and off: the ratio of their mean latencies, for
single writes (each after the propagation it caused, as a user's clicks) and for a burst.
Writes ``bench/results/notices.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, text

from consentry.domain import consent_bulk
from consentry.service.app import create_app
from consentry.service.background import running
from consentry.service.config import ServiceSettings
from consentry.store.consent import record_consent
from consentry.store.content import append_rows, bulk_session
from consentry.store.credentials import create_platform_token
from consentry.store.db import make_engine, session_scope
from consentry.store.parties import add_collaborator, add_license
from consentry.store.policies import draft_policy, ensure_builtin_purposes, publish_policy
from consentry.store.schema import upgrade

RESULTS = Path(__file__).parent / "results"
U = "train_ai_system"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SECRETS = {
    "platform_secret": "bench-platform-secret-0123456789abcdefghij",
    "session_secret": "bench-session-secret-0123456789abcdefghij",
}


def _ids(prefix: str, values: np.ndarray) -> pa.Array:
    return pa.array([f"{prefix}{v:07d}" for v in values.tolist()], pa.string())


def _sqlite_time(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(" ")


def build(engine: Engine, accounts: int, per_account: int, deliveries: int) -> None:
    """Accounts (US, opt-out), their posts, and the deliveries holding every post."""
    n_posts = accounts * per_account
    created = EPOCH + timedelta(days=30)
    account_ids = _ids("acc-", np.arange(accounts))
    post_owner = np.repeat(np.arange(accounts), per_account)
    post_ids = _ids("post-", np.arange(n_posts))
    owners = _ids("acc-", post_owner)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
        draft_policy(session, version="v1", summary="", defaults={U: {"US": "opt_out"}}, actor="b")
        publish_policy(session, version="v1", effective_at=EPOCH, published_at=EPOCH, actor="bench")
        add_collaborator(
            session, id="collab", name="Collab", country="GB", listed_at=EPOCH, actor="bench"
        )
        add_license(
            session,
            id="lic",
            collaborator_id="collab",
            purpose=U,
            scope={},
            term_start=EPOCH,
            actor="bench",
        )
    ts = pa.array([created] * n_posts, pa.timestamp("us", tz="UTC"))
    with bulk_session(engine) as session:
        append_rows(
            session,
            "accounts",
            pa.table(
                {
                    "id": account_ids,
                    "handle": account_ids,
                    "jurisdiction": pa.array(["US-TX"] * accounts),
                    "protected": pa.array([False] * accounts),
                }
            ),
        )
        append_rows(
            session,
            "posts",
            pa.table(
                {
                    "id": post_ids,
                    "account_id": owners,
                    "created_at": ts,
                    "text": pa.array(["words"] * n_posts),
                    "lang": pa.array(["en"] * n_posts),
                    "visibility": pa.array(["public"] * n_posts),
                    "kind": pa.array(["post"] * n_posts),
                    "like_count": pa.array([0] * n_posts, pa.int64()),
                    "repost_count": pa.array([0] * n_posts, pa.int64()),
                    "reply_count": pa.array([0] * n_posts, pa.int64()),
                }
            ),
        )
    for d in range(deliveries):  # one transaction each: SQLite attaches at most 10 stages
        with bulk_session(engine) as session:
            delivery_id = f"lic-{d:02d}"
            moment = EPOCH + timedelta(days=60 + d)
            session.execute(
                text(
                    "INSERT INTO deliveries (id, license_id, collaborator_id, kind, cutoff, "
                    "started_at, finished_at, status, engine, path, record_count, counts) "
                    "VALUES (:id, 'lic', 'collab', 'full', :t, :t, :t, 'complete', "
                    "'embedded', '/nowhere', :n, '{}')"
                ),
                {"id": delivery_id, "t": _sqlite_time(moment), "n": n_posts},
            )
            append_rows(
                session,
                "delivery_members",
                pa.table(
                    {
                        "delivery_id": pa.array([delivery_id] * n_posts),
                        "post_id": post_ids,
                        "account_id": owners,
                        "record_pseudonym": post_ids,
                        "basis_policy_version": pa.array(["v1"] * n_posts),
                        "basis_default": pa.array(["opt_out"] * n_posts),
                    }
                ),
            )


def withdraw(engine: Engine, account_ids: list[str]) -> None:
    with session_scope(engine) as session:
        for account_id in account_ids:
            record_consent(
                session,
                account_id=account_id,
                purpose=U,
                decision="deny",
                source="settings",
                actor="bench",
            )


def bare_lookup(engine: Engine, account_ids: list[str]) -> int:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT delivery_id, post_id, record_pseudonym FROM delivery_members "
                "WHERE account_id IN (SELECT value FROM json_each(:ids))"
            ),
            {"ids": json.dumps(account_ids)},
        ).all()
    return len(rows)


def write_latencies(
    engine: Engine, home: Path, *, writes: int, accounts: int, burst: bool
) -> dict[bool, list[float]]:
    """Seconds per consent write through the API, by propagation on (True) or off (False).

    Two apps on the same database, one with background propagation and one without, take the
    writes in turn, so the machine's noise and the database's state meet both alike. Single
    writes (``burst`` False) wait, untimed, for the propagation they caused before the next one,
    as a user's clicks are seconds apart; a burst sends them back to back, so each write meets
    the propagation of the ones before it."""
    apps = {
        flag: create_app(
            ServiceSettings(home=home / str(flag), propagation=flag, **SECRETS), engine=engine
        )
        for flag in (True, False)
    }
    with session_scope(engine) as session:
        _, token = create_platform_token(session, name=f"bench-{burst}", actor="bench")
    headers = {"Authorization": f"Bearer {token}"}
    seconds: dict[bool, list[float]] = {True: [], False: []}
    with running(apps[True]) as on_url, running(apps[False]) as off_url:
        clients = {
            True: httpx.Client(base_url=on_url, timeout=30, headers=headers),
            False: httpx.Client(base_url=off_url, timeout=30, headers=headers),
        }
        for i in range(2 * writes):
            flag = i % 2 == 0
            body = {
                "account_id": f"acc-{(accounts // 2 + i) % accounts:07d}",
                "purpose": U,
                "decision": "deny" if (i // 2) % 2 else "allow",
                "source": "api",
            }
            started = time.perf_counter()
            response = clients[flag].post("/api/platform/consent-events", json=body)
            seconds[flag].append(time.perf_counter() - started)
            response.raise_for_status()
            if not burst:
                apps[True].state.propagator.wait_idle(120)
        apps[True].state.propagator.wait_idle(120)
        for client in clients.values():
            client.close()
    for app in apps.values():
        app.state.reader.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--posts-per-account", type=int, default=5)
    parser.add_argument("--deliveries", type=int, default=20)
    parser.add_argument("--withdrawals", type=int, default=1_000)
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    from consentry.pipeline.propagate import propagate

    with tempfile.TemporaryDirectory(prefix="consentry-bench-notices-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        started = time.perf_counter()
        build(engine, args.accounts, args.posts_per_account, args.deliveries)
        members = args.accounts * args.posts_per_account * args.deliveries
        print(f"built {members:,} delivered records in {time.perf_counter() - started:.1f}s")
        rng = np.random.default_rng(7)
        chosen = rng.choice(args.accounts, args.withdrawals, replace=False)
        withdrawn = [f"acc-{v:07d}" for v in sorted(chosen.tolist())]
        withdraw(engine, withdrawn)
        lookup_runs = []
        for _ in range(3):
            t = time.perf_counter()
            found = bare_lookup(engine, withdrawn)
            lookup_runs.append(time.perf_counter() - t)
        consent_bulk.thread_connection()  # a server's is warm; opening one costs ~60 ms
        t = time.perf_counter()
        report = propagate(engine, account_ids=withdrawn, actor="bench")
        propagate_s = time.perf_counter() - t
        expected = args.withdrawals * args.posts_per_account * args.deliveries
        assert sum(report.records.values()) == found == expected, (report.records, found)
        print(
            f"propagate: {propagate_s:.2f}s for {args.withdrawals:,} withdrawals "
            f"({found:,} records, {len(report.notices)} notices)"
        )
        lookup_s = min(lookup_runs)
        print(
            f"bare indexed lookup of their records: {lookup_s:.3f}s; "
            f"ratio {propagate_s / lookup_s:.1f}x"
        )
        writes: dict[str, float] = {}
        for burst in (False, True):
            kind = "burst" if burst else "single"
            latencies = write_latencies(
                engine,
                Path(tmp) / f"home-{kind}",
                writes=args.writes,
                accounts=args.accounts,
                burst=burst,
            )
            writes[f"{kind}_on"] = statistics.fmean(latencies[True])
            writes[f"{kind}_off"] = statistics.fmean(latencies[False])
        for kind in ("single", "burst"):
            on_ms, off_ms = writes[f"{kind}_on"] * 1000, writes[f"{kind}_off"] * 1000
            print(
                f"consent write via API ({kind}): {on_ms:.2f} ms with propagation, "
                f"{off_ms:.2f} ms without: {on_ms / off_ms:.2f}x (goal <= 1.2x for single)"
            )
        engine.dispose()
    RESULTS.mkdir(exist_ok=True)
    result = {
        "command": "python -m bench.notices "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "delivered_records": members,
        "withdrawals": args.withdrawals,
        "records_noticed": found,
        "propagate_seconds": round(propagate_s, 3),
        "bare_lookup_seconds": round(lookup_s, 4),
        "ratio_to_bare_lookup": round(propagate_s / lookup_s, 2),
        **{f"write_ms_{key}": round(value * 1000, 3) for key, value in writes.items()},
        "single_write_ratio": round(writes["single_on"] / writes["single_off"], 3),
        "burst_write_ratio": round(writes["burst_on"] / writes["burst_off"], 3),
    }
    (RESULTS / "notices.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
