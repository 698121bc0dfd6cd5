"""Benchmark: the consent snapshot of every account in bulk against the one-at-a-time rule.

    .venv/bin/python -m bench.ledger [--accounts 1000000] [--events 3000000] [--sample 10000]
        [--store sqlite|URL]

A seeded synthetic ledger (accounts across US states, EU countries, the UK and elsewhere; consent
events for the master switch and per collaborator, several purposes, late recordings) and the
demo's policy v2. The bulk side is ``consent_snapshot.account_snapshot`` over every account at one
cut-off, from the Arrow tables ``store.snapshot.consent_inputs`` hands it (accounts, and the
ledger in ledger order): everything the export and the service pay after the read, matching
event to account included. The baseline is ``consent.consent_state_at`` (at the cut-off and at
the export, as the snapshot does) per account of a sample, each with its own events already
grouped (not timed), which is what one check costs after its read. The figure is the
per-account speed ratio; the sample must agree row for row. Both sides run ``--repeat`` times,
alternately, and the fastest run of each counts (the machine may be shared).

With ``--store``, the same inputs are also written to a store (``sqlite``: a temporary file, or
a database URL with an empty schema) and read back by ``consent_inputs`` as the export reads
them; that read is reported beside the snapshot, not in the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from consentry.domain import consent_bulk, consent_snapshot
from consentry.domain.consent import consent_state_at, is_minor_at
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.domain.types import (
    AccountFacts,
    ConsentEventFacts,
    ConsentSource,
    Decision,
    DefaultRule,
    PolicyFacts,
)

RESULTS = Path(__file__).parent / "results"
COLLABORATOR = "northwind-ai"
LISTED_AT = datetime(2024, 12, 1, tzinfo=UTC)
"""Listed after the policy change, so rule 6 (informed consent) is part of what is measured."""
POLICY_V2 = PolicyFacts(
    version="v2",
    published_at=datetime(2024, 10, 16, tzinfo=UTC),
    effective_at=datetime(2024, 11, 15, tzinfo=UTC),
    purposes=frozenset({TRAIN_AI_SYSTEM}),
    defaults={"US": DefaultRule.OPT_OUT, "EU": DefaultRule.OPT_IN, "GB": DefaultRule.OPT_IN},
)
CUTOFF = datetime(2025, 1, 31, tzinfo=UTC)
# Jurisdiction and its share of accounts: US states, EU members (some by subdivision), the UK,
# the rest of the EEA and elsewhere, so that every kind of policy key is exercised.
JURISDICTIONS = {
    "US": 4, "US-CA": 8, "US-TX": 6, "US-NY": 5, "US-FL": 4, "US-WA": 2, "US-IL": 2,
    "DE": 6, "FR": 5, "FR-75": 1, "IT": 4, "ES": 4, "NL": 2, "PL": 2, "IE": 1, "SE": 1,
    "AT": 1, "BE": 1, "PT": 1, "GB": 7, "GB-SCT": 1, "NO": 1, "CH": 1, "CA": 3, "BR": 6,
    "MX": 3, "IN": 8, "JP": 4, "AU": 2, "NG": 2, "ZA": 1, "KR": 1,
}  # fmt: skip
PURPOSES = [TRAIN_AI_SYSTEM, "third_party_sharing", "marketing.advertising"]
COLLABORATORS = [COLLABORATOR, "other-lab"]
MICROS = 1_000_000


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * MICROS)


def _timestamps(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(np.int64), mask=mask).cast(consent_bulk.TS)


def _pick(choices: list[str], indices: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    picked = pc.take(pa.array(choices, pa.string()), pa.array(indices))
    return (
        pc.if_else(pa.array(mask), pa.nulls(len(indices), pa.string()), picked)
        if mask is not None
        else picked
    )


def account_ids(indices: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise("acc-", pc.cast(pa.array(indices), pa.string()), "")


def generate_accounts(n: int, rng: np.random.Generator) -> pa.Table:
    codes = list(JURISDICTIONS)
    weights = np.array(list(JURISDICTIONS.values()), dtype=float)
    epoch = date(1970, 1, 1)
    adults = rng.integers((date(1950, 1, 1) - epoch).days, (date(2006, 1, 1) - epoch).days, n)
    minors = rng.integers((date(2006, 6, 1) - epoch).days, (date(2012, 1, 1) - epoch).days, n)
    birth = np.where(rng.random(n) < 0.04, minors, adults).astype(np.int32)
    no_birth_date = rng.random(n) < 0.15
    deleted = rng.random(n) < 0.01
    deleted_at = rng.integers(_micros(POLICY_V2.published_at), _micros(CUTOFF), n)
    return pa.table(
        {
            "id": account_ids(np.arange(n)),
            "ordinal": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "jurisdiction": _pick(codes, rng.choice(len(codes), n, p=weights / weights.sum())),
            "protected": pa.array(rng.random(n) < 0.05),
            "birth_date": pa.array(birth, mask=no_birth_date).cast(pa.date32()),
            "is_minor": pa.array(rng.random(n) < 0.03, mask=~no_birth_date),
            "deleted_at": _timestamps(deleted_at, mask=~deleted),
        },
        schema=consent_bulk.ACCOUNT_SCHEMA,
    )


def generate_events(m: int, n_accounts: int, rng: np.random.Generator) -> pa.Table:
    """Events over the weeks around the policy change; ids follow recording order (the ledger)."""
    effective = rng.integers(
        _micros(POLICY_V2.published_at), _micros(datetime(2025, 2, 15, tzinfo=UTC)), m
    )
    # Most are recorded within a minute; a few arrive days late (imports, backfills).
    delay = np.where(rng.random(m) < 0.03, rng.integers(0, 20 * 86_400, m), rng.integers(0, 60, m))
    recorded = effective + delay * MICROS
    order = np.argsort(recorded, kind="stable")
    collaborator = rng.choice(len(COLLABORATORS), m, p=[0.6, 0.4])
    account = rng.integers(0, n_accounts, m)[order]
    return pa.table(
        {
            "id": pa.array(np.arange(1, m + 1, dtype=np.int64)),
            "account_id": account_ids(account),
            "account_ordinal": pa.array(account + 1),
            "purpose": _pick(PURPOSES, rng.choice(len(PURPOSES), m, p=[0.85, 0.1, 0.05])[order]),
            "collaborator_id": _pick(
                COLLABORATORS, collaborator[order], mask=(rng.random(m) < 0.75)[order]
            ),
            "decision": _pick(["allow", "deny"], (rng.random(m) < 0.6).astype(np.int64)[order]),
            "effective_at": _timestamps(effective[order]),
            "recorded_at": _timestamps(recorded[order]),
            "source": pa.repeat(pa.scalar("settings"), m),
        },
        schema=consent_bulk.EVENT_SCHEMA,
    )


def sample_facts(
    accounts: pa.Table, events: pa.Table, ids: pa.Array
) -> tuple[list[AccountFacts], dict[str, list[ConsentEventFacts]]]:
    """The sample's accounts and their events, grouped per account (not timed)."""
    rows = accounts.filter(pc.is_in(accounts["id"], ids)).drop_columns(["ordinal"]).to_pylist()
    facts = [AccountFacts(**row) for row in rows]
    grouped: dict[str, list[ConsentEventFacts]] = defaultdict(list)
    mine = events.filter(pc.is_in(events["account_id"], ids)).drop_columns(["account_ordinal"])
    for row in mine.to_pylist():
        grouped[row["account_id"]].append(
            ConsentEventFacts(
                **{
                    **row,
                    "decision": Decision(row["decision"]),
                    "source": ConsentSource(row["source"]),
                }
            )
        )
    return facts, grouped


def one_at_a_time(
    account: AccountFacts, events: list[ConsentEventFacts], as_of: datetime
) -> dict[str, object]:
    """The snapshot row of one account, from the one-at-a-time functions."""
    row: dict[str, object] = {
        "deleted": account.deleted_at is not None and account.deleted_at <= as_of,
        "minor": is_minor_at(account, CUTOFF) or is_minor_at(account, as_of),
        "protected": account.protected,
    }
    for suffix, moment in (("t", CUTOFF), ("now", as_of)):
        state = consent_state_at(
            account,
            events,
            [POLICY_V2],
            purpose=TRAIN_AI_SYSTEM,
            collaborator_id=COLLABORATOR,
            listed_at=LISTED_AT,
            moment=moment,
            as_of=as_of,
        )
        row[f"reason_{suffix}"] = state.reason.value if state.reason else None
        row[f"event_{suffix}"] = state.basis.event_id
        row[f"version_{suffix}"] = state.basis.policy_version
        row[f"default_{suffix}"] = state.basis.default.value if state.basis.default else None
        row[f"opt_out_since_{suffix}"] = state.opt_out_since
    return row


def bulk(accounts: pa.Table, events: pa.Table, as_of: datetime) -> pa.Table:
    return consent_snapshot.account_snapshot(
        accounts,
        events,
        [POLICY_V2],
        purpose=TRAIN_AI_SYSTEM,
        collaborator_id=COLLABORATOR,
        listed_at=LISTED_AT,
        cutoff=CUTOFF,
        as_of=as_of,
    )


def mismatches(snapshot: pa.Table, expected: dict[str, dict[str, object]]) -> list[dict]:
    ids = pa.array(list(expected), pa.string())
    got = {
        r["account_id"]: r
        for r in snapshot.filter(pc.is_in(snapshot["account_id"], ids)).to_pylist()
    }
    found = []
    for account_id, want in expected.items():
        have = {k: got.get(account_id, {}).get(k) for k in want}
        if have != want:
            found.append({"account_id": account_id, "bulk": have, "one_at_a_time": want})
    return found


def matching(accounts: pa.Table, events: pa.Table, as_of: datetime) -> None:
    """The snapshot's first step alone: each relevant event to its account."""
    consent_snapshot.relevant_events(
        accounts,
        events,
        purpose=TRAIN_AI_SYSTEM,
        collaborator_id=COLLABORATOR,
        listed_at=LISTED_AT,
        as_of=as_of,
    )


def store_read(accounts: pa.Table, events: pa.Table, url: str) -> tuple[float, pa.Table]:
    """Write the inputs to a store, then time ``consent_inputs`` reading them as the export
    does (every account with its handle, the ledger of the purpose); the snapshot of what was
    read comes back to be checked against the sample too."""
    from consentry.store.content import append_rows, bulk_session
    from consentry.store.db import make_engine, session_scope
    from consentry.store.parties import add_collaborator
    from consentry.store.policies import ensure_builtin_purposes
    from consentry.store.schema import upgrade
    from consentry.store.snapshot import consent_inputs

    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
        for collaborator in COLLABORATORS:
            add_collaborator(
                session, id=collaborator, name=collaborator, country="GB",
                listed_at=LISTED_AT, actor="bench",
            )  # fmt: skip
    # The hash chain is not what is measured here: placeholders stand in for it.
    chain = pa.repeat(pa.scalar("0" * 64), events.num_rows)
    with bulk_session(engine) as session:
        append_rows(session, "accounts", accounts.append_column("handle", accounts["id"]))
    with bulk_session(engine) as session:
        append_rows(
            session, "consent_events", events.append_column("prev_hash", chain).append_column(
                "hash", chain
            )
        )  # fmt: skip
    started = time.perf_counter()
    inputs = consent_inputs(engine, purpose=TRAIN_AI_SYSTEM, with_handles=True)
    read_s = time.perf_counter() - started
    snapshot = bulk(inputs.accounts.drop_columns(["handle"]), inputs.events, CUTOFF)
    engine.dispose()
    return read_s, snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; fastest counts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", help="also time the read: 'sqlite' or a database URL")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    as_of = CUTOFF

    started = time.perf_counter()
    accounts = generate_accounts(args.accounts, rng)
    events = generate_events(args.events, args.accounts, rng)
    generated = time.perf_counter() - started
    print(f"generated {args.accounts:,} accounts, {args.events:,} events in {generated:.1f}s")
    sample_ids = account_ids(
        np.sort(rng.choice(args.accounts, min(args.sample, args.accounts), replace=False))
    )
    sample, grouped = sample_facts(accounts, events, sample_ids)

    bulk_runs, single_runs, matching_runs = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        snapshot = bulk(accounts, events, as_of)
        bulk_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        expected = {a.id: one_at_a_time(a, grouped[a.id], as_of) for a in sample}
        single_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        matching(accounts, events, as_of)
        matching_runs.append(time.perf_counter() - started)
    assert snapshot.num_rows == args.accounts
    bulk_s, single_s, matching_s = min(bulk_runs), min(single_runs), min(matching_runs)
    wrong = mismatches(snapshot, expected)
    read_s = None
    if args.store:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/ledger.db" if args.store == "sqlite" else args.store
            read_s, from_store = store_read(accounts, events, url)
        wrong += mismatches(from_store, expected)

    bulk_per_account = bulk_s / args.accounts
    single_per_account = single_s / len(sample)
    ratio = single_per_account / bulk_per_account
    result = {
        "command": "python -m bench.ledger " + " ".join(sys.argv[1:]),
        "accounts": args.accounts,
        "events": args.events,
        "seed": args.seed,
        "cpus": os.cpu_count(),
        "bulk_seconds": bulk_s,
        "bulk_seconds_runs": bulk_runs,
        "bulk_matching_seconds": matching_s,
        "bulk_accounts_per_s": args.accounts / bulk_s,
        "sample_accounts": len(sample),
        "sample_events": sum(len(v) for v in grouped.values()),
        "one_at_a_time_seconds": single_s,
        "one_at_a_time_seconds_runs": single_runs,
        "one_at_a_time_accounts_per_s": len(sample) / single_s,
        "one_at_a_time_seconds_scaled_to_all": single_per_account * args.accounts,
        "per_account_speed_ratio": ratio,
        "goal_ratio": 100.0,
        "store": args.store,
        "store_read_seconds": read_s,
        "sample_mismatches": len(wrong),
        "first_mismatches": wrong[:3],
    }
    RESULTS.mkdir(exist_ok=True)
    partial = RESULTS / "ledger.json.partial"
    partial.write_text(json.dumps(result, indent=2, default=str))
    partial.replace(RESULTS / "ledger.json")

    print(f"{'':16}{'accounts':>12}{'seconds':>10}{'accounts/s':>14}{'µs/account':>12}")
    for label, count, seconds in (
        ("bulk snapshot", args.accounts, bulk_s),
        ("one at a time", len(sample), single_s),
    ):
        per_s, micros = count / seconds, seconds / count * 1e6
        print(f"{label:16}{count:>12,}{seconds:>10.2f}{per_s:>14,.0f}{micros:>12.2f}")
    print(
        f"per-account speed ratio: {ratio:,.0f}x (goal >= 100x); one at a time for all "
        f"{args.accounts:,} accounts would take {single_per_account * args.accounts:,.0f}s"
    )
    print(f"of the bulk snapshot, matching events to accounts (alone): {matching_s:.2f}s")
    if read_s is not None:
        print(
            f"read of these inputs from the store ({args.store}), not in the ratio: {read_s:.2f}s"
        )
    print(f"sample agreement: {len(wrong)} mismatches of {len(sample):,} accounts")
    if wrong:
        print(json.dumps(wrong[:3], indent=2, default=str), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
