"""Synthetic consent history around the policy change (see ``scenario``).

Who does what, as shares of accounts:
- personalisation (v1, opt-out everywhere): some switch it off over the years, a few back on;
- AI training (v2): a burst of switch-offs after the announcement on 2024-10-16 that decays over
  the following weeks, a second smaller wave when it takes effect on 2024-11-15; some of them
  switch back on later; explicit allows where v2 asks for a yes (EU, UK, elsewhere) and some
  of those change their mind; per-collaborator choices; Global Privacy Control signals, most
  of all in California and Colorado, whose laws make browsers' GPC binding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from consentry.demo.arrays import MICROS_PER_DAY, micros, timestamps
from consentry.demo.people import Accounts
from consentry.demo.scenario import (
    COLLABORATORS,
    PERIOD_END,
    PERSONALIZE,
    TRAIN_AI_SYSTEM,
    V1_PUBLISHED,
    V2_EFFECTIVE,
    V2_PUBLISHED,
)
from consentry.demo.vocab import JURISDICTIONS
from consentry.domain.jurisdiction import EU_COUNTRIES, country_of
from consentry.store.content import CONSENT_SCHEMA

# Shares of accounts per region: US, EU, GB, elsewhere.
REGIONS = ("US", "EU", "GB", "other")
TRAIN_DENY = np.array([0.22, 0.10, 0.10, 0.06])
TRAIN_ALLOW = np.array([0.02, 0.12, 0.12, 0.10])
GPC = np.array([0.04, 0.01, 0.01, 0.01])
GPC_BINDING_STATES = ("US-CA", "US-CO")
GPC_BINDING = 0.08
PERSONALIZE_DENY = 0.08
PER_COLLABORATOR = 0.04
SWITCH_BACK = 0.15
CHANGE_OF_MIND = 0.10
DAY = MICROS_PER_DAY


@dataclass
class _Events:
    account: np.ndarray
    at: np.ndarray
    purpose: str
    decision: str
    source: str = "settings"
    collaborator: np.ndarray | None = None
    """Index into COLLABORATORS per event, or None for the master switch."""


def _region(accounts: Accounts) -> np.ndarray:
    keys = list(JURISDICTIONS)

    def region_of(key: str) -> int:
        country = country_of(key)
        if country == "US":
            return 0
        return 1 if country in EU_COUNTRIES else 2 if country == "GB" else 3

    return np.array([region_of(k) for k in keys])[accounts.jurisdiction]


def _after(
    rng: np.random.Generator, start: datetime | np.ndarray, mean_days: float, n: int
) -> np.ndarray:
    base = micros(start) if isinstance(start, datetime) else start
    return base + (rng.exponential(mean_days * DAY, n)).astype(np.int64)


def _choices(rng: np.random.Generator, accounts: Accounts) -> Iterator[_Events]:
    n = len(accounts.created)
    region = _region(accounts)
    everyone = np.arange(n)

    # Personalisation: switched off at any time since v1, a fifth switch it back on.
    off = everyone[rng.random(n) < PERSONALIZE_DENY]
    span = micros(PERIOD_END) - micros(V1_PUBLISHED)
    at = micros(V1_PUBLISHED) + np.floor(rng.random(len(off)) * span).astype(np.int64)
    yield _Events(off, at, PERSONALIZE, "deny")
    back = rng.random(len(off)) < 0.2
    yield _Events(off[back], _after(rng, at[back], 30, int(back.sum())), PERSONALIZE, "allow")

    # AI training: switch-offs after the announcement (decaying), a wave at the effective date.
    roll = rng.random(n)
    deny = roll < TRAIN_DENY[region]
    allow = ~deny & (roll < TRAIN_DENY[region] + TRAIN_ALLOW[region])
    deniers = everyone[deny]
    wave = rng.random(len(deniers)) < 0.25
    at = np.where(
        wave,
        _after(rng, V2_EFFECTIVE, 3, len(deniers)),
        _after(rng, V2_PUBLISHED, 4, len(deniers)),
    )
    yield _Events(deniers, at, TRAIN_AI_SYSTEM, "deny")
    back = rng.random(len(deniers)) < SWITCH_BACK
    later = _after(rng, at[back] + DAY, 20, int(back.sum()))
    yield _Events(deniers[back], later, TRAIN_AI_SYSTEM, "allow")

    allowers = everyone[allow]
    at = _after(rng, V2_PUBLISHED, 10, len(allowers))
    yield _Events(allowers, at, TRAIN_AI_SYSTEM, "allow")
    mind = rng.random(len(allowers)) < CHANGE_OF_MIND
    yield _Events(
        allowers[mind], _after(rng, at[mind] + DAY, 15, int(mind.sum())), TRAIN_AI_SYSTEM, "deny"
    )

    # One collaborator but not the other: mostly a yes where v2 asks for one, a no in the US.
    chooser = everyone[rng.random(n) < PER_COLLABORATOR]
    says_yes = rng.random(len(chooser)) < np.where(region[chooser] == 0, 0.3, 0.7)
    which = rng.integers(0, len(COLLABORATORS), len(chooser))
    at = _after(rng, V2_PUBLISHED, 12, len(chooser))
    for decision, mask in (("allow", says_yes), ("deny", ~says_yes)):
        yield _Events(chooser[mask], at[mask], TRAIN_AI_SYSTEM, decision, collaborator=which[mask])

    # Global Privacy Control: recorded on a visit some time after v2 was announced.
    keys = np.array(list(JURISDICTIONS))[accounts.jurisdiction]
    share = np.where(np.isin(keys, GPC_BINDING_STATES), GPC_BINDING, GPC[region])
    signals = everyone[rng.random(n) < share]
    span = micros(PERIOD_END) - micros(V2_PUBLISHED)
    at = micros(V2_PUBLISHED) + np.floor(rng.random(len(signals)) * span).astype(np.int64)
    yield _Events(signals, at, TRAIN_AI_SYSTEM, "deny", source="gpc")


def generate_consent(rng: np.random.Generator, accounts: Accounts) -> pa.Table:
    """The consent events of every account, in the order they were recorded."""
    parts = list(_choices(rng, accounts))
    account = np.concatenate([p.account for p in parts])
    at = np.concatenate([p.at for p in parts])
    # Accounts created after a wave choose shortly after they join.
    at = np.maximum(at, _after(rng, accounts.created[account], 1, len(account)))
    recorded = at + rng.integers(0, 90_000_000, len(at))
    gone = accounts.deleted[account]
    keep = (recorded < micros(PERIOD_END)) & ((gone < 0) | (recorded < gone))

    collaborator_ids = pa.array([c.id for c in COLLABORATORS] + [None], type=pa.string())
    no_one = len(COLLABORATORS)
    collaborator = np.concatenate(
        [
            p.collaborator if p.collaborator is not None else np.full(len(p.account), no_one)
            for p in parts
        ]
    )
    texts = {
        name: np.concatenate([np.full(len(p.account), getattr(p, name)) for p in parts])
        for name in ("purpose", "decision", "source")
    }
    order = np.lexsort((account[keep], recorded[keep]))

    def pick(values: np.ndarray) -> np.ndarray:
        return values[keep][order]

    recorded_kept = pick(recorded)
    table = pa.table(
        {
            "account_id": accounts.table.column("id")
            .combine_chunks()
            .take(pa.array(pick(account))),
            "purpose": pa.array(pick(texts["purpose"]), type=pa.string()),
            "collaborator_id": collaborator_ids.take(pa.array(pick(collaborator))),
            "decision": pa.array(pick(texts["decision"]), type=pa.string()),
            "source": pa.array(pick(texts["source"]), type=pa.string()),
            "policy_version": pa.array(
                np.where(recorded_kept >= micros(V2_PUBLISHED), "v2", "v1"), type=pa.string()
            ),
            "effective_at": timestamps(pick(at)),
            "recorded_at": timestamps(recorded_kept),
        }
    )
    return _with_external_ids(table)


def _with_external_ids(events: pa.Table) -> pa.Table:
    """A content hash per event: the same event always gets the same id, so loads are idempotent."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("events", events)
    ids = con.sql(
        "SELECT 'demo-' || substr(sha256(concat_ws('|', account_id, purpose, "
        "coalesce(collaborator_id, '*'), decision, source, epoch_us(effective_at))), 1, 24) "
        "AS external_id FROM events"
    ).to_arrow_table()
    con.close()
    columns = [ids.column(0), *events.columns, pa.nulls(events.num_rows, pa.int64())]
    return pa.Table.from_arrays(columns, schema=CONSENT_SCHEMA)  # sequence: the file's order
