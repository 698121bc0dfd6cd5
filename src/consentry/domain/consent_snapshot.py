"""The consent snapshot: every account's consent state at one cut-off, in bulk.

One row per account (``SNAPSHOT_SCHEMA``): the account-level checks of rule 1 and the consent
state of rules 2, 3 and 6 at the cut-off and at ``as_of``; ``consent_bulk.post_verdict_sql``
joins posts with it. Policy defaults are resolved per distinct jurisdiction by the very functions
of ``consent``; the latest choice per account is the one row-wise part restated here, and a
property test holds the snapshot to ``consent.consent_state_at``.

Why not one SQL plan: grouping three million events by account id string, then joining the
groups back onto a million accounts by string, cost most of the time. Here the id strings are
matched once (each event to its account's position, one hash join), the latest event per
position is a scatter-max over integers (numpy), and every output column is either a column of
the accounts table as it is or a ``take`` from the few rows of per-jurisdiction defaults.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from consentry.domain.consent import default_state
from consentry.domain.consent_bulk import TS, as_utc, connect
from consentry.domain.types import ADULT_AGE, ExclusionReason, PolicyFacts

JURISDICTION_DEFAULTS_SCHEMA = pa.schema(
    [
        ("jurisdiction", pa.string()),
        ("reason_t", pa.string()),
        ("version_t", pa.string()),
        ("default_t", pa.string()),
        ("opt_out_since_t", TS),
        ("reason_now", pa.string()),
        ("version_now", pa.string()),
        ("default_now", pa.string()),
        ("opt_out_since_now", TS),
    ]
)


def jurisdiction_defaults(
    jurisdictions: Sequence[str],
    policies: Sequence[PolicyFacts],
    *,
    purpose: str,
    listed_at: datetime | None,
    cutoff: datetime,
    as_of: datetime,
) -> pa.Table:
    """Rules 3 and 6 (``consent.default_state``) for each distinct jurisdiction at the cut-off
    and at ``as_of``."""
    rows = []
    for jurisdiction in sorted(set(jurisdictions)):
        row: dict[str, object] = {"jurisdiction": jurisdiction}
        for suffix, moment in (("t", cutoff), ("now", as_of)):
            state = default_state(
                policies,
                purpose=purpose,
                jurisdiction=jurisdiction,
                listed_at=listed_at,
                moment=moment,
                as_of=as_of,
            )
            row[f"reason_{suffix}"] = state.reason.value if state.reason else None
            row[f"version_{suffix}"] = state.basis.policy_version
            row[f"default_{suffix}"] = state.basis.default.value if state.basis.default else None
            row[f"opt_out_since_{suffix}"] = state.opt_out_since
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=JURISDICTION_DEFAULTS_SCHEMA)


SNAPSHOT_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("jurisdiction", pa.string()),
        ("deleted", pa.bool_()),
        ("minor", pa.bool_()),
        ("protected", pa.bool_()),
        *(
            field
            for suffix in ("t", "now")
            for field in (
                (f"reason_{suffix}", pa.string()),
                (f"event_{suffix}", pa.int64()),
                (f"version_{suffix}", pa.string()),
                (f"default_{suffix}", pa.string()),
                (f"opt_out_since_{suffix}", TS),
            )
        ),
    ]
)
"""One row per account, in the order of the accounts table: what ``account_snapshot`` gives."""

# Rule 2: the latest event is the one with the greatest (effective time, ledger id). Each
# relevant event is read as its account's position in the accounts table (a join on the id
# string, the one string-keyed step), its effective time in microseconds and a choice: the
# event's id with two flags in the lowest bits, whether it is a master allow given before the
# collaborator was listed (rule 6: no choice for this collaborator) and its decision. The id
# dominates the choice, so among events of equal effective time the greatest choice is the
# latest in ledger order.
_BEFORE_LISTING = (
    "(e.collaborator_id IS NULL AND e.decision = 'allow' AND $listed_at::TIMESTAMPTZ IS NOT NULL "
    "AND e.effective_at < $listed_at::TIMESTAMPTZ)"
)
RELEVANT_EVENTS_SQL = f"""
SELECT a.position,
       epoch_us(e.effective_at) AS effective,
       epoch_us(e.recorded_at) AS recorded,
       e.id * 4 + {_BEFORE_LISTING}::BIGINT * 2 + (e.decision = 'allow')::BIGINT AS choice
FROM events e JOIN account_positions a ON a.id = e.account_id
WHERE e.purpose = $purpose
  AND (e.collaborator_id IS NULL OR e.collaborator_id = $collaborator_id)
  AND e.recorded_at <= $as_of AND e.effective_at <= $as_of"""
_NO_CHOICE = -1
_DEFAULT_NAMES = ("reason", "version", "default", "opt_out_since")
"""The state columns that come from a jurisdiction's default at each moment ..."""
_STATE_NAMES = ("event", *_DEFAULT_NAMES)
"""... and with the event of an explicit choice, every state column."""


def account_snapshot(
    accounts: pa.Table,
    events: pa.Table,
    policies: Sequence[PolicyFacts],
    *,
    purpose: str,
    collaborator_id: str,
    listed_at: datetime | None,
    cutoff: datetime,
    as_of: datetime,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """One row per account (``SNAPSHOT_SCHEMA``, in the accounts' order): the account-level
    checks and the consent state at both moments.

    ``listed_at`` is when users were first shown the collaborator (rule 6; None: always known).
    The latest choice per account is a scatter-max over account positions (numpy), and every
    other column is taken from the accounts table or from the per-jurisdiction defaults, so no
    string is hashed twice and none is rebuilt.
    """
    cutoff, as_of = as_utc(cutoff), as_utc(as_of)
    relevant = relevant_events(
        con or connect(),
        accounts,
        events,
        purpose=purpose,
        collaborator_id=collaborator_id,
        listed_at=listed_at,
        as_of=as_of,
    )
    return _snapshot(
        accounts,
        relevant,
        policies,
        purpose=purpose,
        listed_at=listed_at,
        cutoff=cutoff,
        as_of=as_of,
    )


def snapshots_over_time(
    accounts: pa.Table,
    events: pa.Table,
    policies: Sequence[PolicyFacts],
    *,
    purpose: str,
    collaborator_id: str,
    listed_at: datetime | None,
    moments: Sequence[datetime],
    con: duckdb.DuckDBPyConnection | None = None,
) -> Iterator[pa.Table]:
    """``account_snapshot`` with the cut-off and ``as_of`` both at each of ``moments`` (the
    ledger as recorded by then), in their order. The events are matched to their accounts once
    for all the moments: that join, not the per-moment arithmetic, is what a snapshot costs."""
    if not moments:
        return
    moments = [as_utc(m) for m in moments]
    relevant = relevant_events(
        con or connect(),
        accounts,
        events,
        purpose=purpose,
        collaborator_id=collaborator_id,
        listed_at=listed_at,
        as_of=max(moments),
    )
    for moment in moments:
        yield _snapshot(
            accounts,
            relevant.known_at(moment),
            policies,
            purpose=purpose,
            listed_at=listed_at,
            cutoff=moment,
            as_of=moment,
        )


@dataclass(frozen=True)
class RelevantEvents:
    """The events that count for one (purpose, collaborator or all), one entry per event: its
    account's position, effective and recorded microseconds, and packed choice."""

    position: np.ndarray
    effective: np.ndarray
    recorded: np.ndarray
    choice: np.ndarray

    def known_at(self, moment: datetime) -> RelevantEvents:
        """Those recorded and effective by ``moment`` (as ``RELEVANT_EVENTS_SQL`` at it)."""
        limit = _micros(moment)
        keep = (self.recorded <= limit) & (self.effective <= limit)
        return RelevantEvents(
            self.position[keep], self.effective[keep], self.recorded[keep], self.choice[keep]
        )


def relevant_events(
    con: duckdb.DuckDBPyConnection,
    accounts: pa.Table,
    events: pa.Table,
    *,
    purpose: str,
    collaborator_id: str,
    listed_at: datetime | None,
    as_of: datetime,
) -> RelevantEvents:
    """Each event that counts for (purpose, collaborator or all) as recorded by ``as_of``,
    matched to its account's position."""
    if events.num_rows and pc.max(events.column("id")).as_py() >= 2**61:
        raise ValueError("ledger ids from 2**61 on do not fit the bulk rule's packed choice")
    positions = pa.table(
        {"id": accounts.column("id"), "position": np.arange(accounts.num_rows, dtype=np.int32)}
    )
    con.register("account_positions", positions)
    con.register("events", events)
    try:
        found = con.sql(
            RELEVANT_EVENTS_SQL,
            params={
                "purpose": purpose,
                "collaborator_id": collaborator_id,
                "listed_at": as_utc(listed_at) if listed_at is not None else None,
                "as_of": as_utc(as_of),
            },
        ).to_arrow_table()
    finally:
        con.unregister("account_positions")
        con.unregister("events")
    return RelevantEvents(
        *(found.column(name).to_numpy() for name in ("position", "effective", "recorded", "choice"))
    )


def _snapshot(
    accounts: pa.Table,
    relevant: RelevantEvents,
    policies: Sequence[PolicyFacts],
    *,
    purpose: str,
    listed_at: datetime | None,
    cutoff: datetime,
    as_of: datetime,
) -> pa.Table:
    """The snapshot from the events relevant at ``as_of`` (both moments in UTC)."""
    defaults = jurisdiction_defaults(
        pc.unique(accounts.column("jurisdiction")).to_pylist(),
        policies,
        purpose=purpose,
        listed_at=listed_at,
        cutoff=cutoff,
        as_of=as_of,
    )
    position, effective, choice = relevant.position, relevant.effective, relevant.choice
    count = accounts.num_rows
    later = effective > _micros(cutoff)
    if not later.any():
        latest_t = latest_now = _latest(count, position, effective, choice)
    else:
        at_cutoff = ~later
        latest_t = _latest(count, position[at_cutoff], effective[at_cutoff], choice[at_cutoff])
        # An event effective after the cut-off (and by as_of) is later than any event at it.
        latest_later = _latest(count, position[later], effective[later], choice[later])
        latest_now = np.where(latest_later != _NO_CHOICE, latest_later, latest_t)
    jurisdiction = pc.index_in(accounts.column("jurisdiction"), value_set=defaults["jurisdiction"])
    default_of = jurisdiction.to_numpy()
    birth_date, is_minor = accounts.column("birth_date"), accounts.column("is_minor")
    deleted_at = accounts.column("deleted_at")
    columns = {
        "account_id": accounts.column("id"),
        "jurisdiction": accounts.column("jurisdiction"),
        "deleted": pc.fill_null(pc.less_equal(deleted_at, pa.scalar(as_of, TS)), False),
        "minor": pc.or_(
            _minor_at(birth_date, is_minor, cutoff), _minor_at(birth_date, is_minor, as_of)
        ),
        "protected": pc.fill_null(accounts.column("protected"), False),
    }
    at_t = _state_columns(latest_t, default_of, defaults, "t")
    same = latest_now is latest_t and all(
        defaults[f"{name}_t"].equals(defaults[f"{name}_now"]) for name in _DEFAULT_NAMES
    )
    # Normally nothing happened between the cut-off and as_of: the same columns serve both.
    at_now = at_t if same else _state_columns(latest_now, default_of, defaults, "now")
    for suffix, state in (("t", at_t), ("now", at_now)):
        columns.update({f"{name}_{suffix}": state[name] for name in _STATE_NAMES})
    return pa.table(columns, schema=SNAPSHOT_SCHEMA)


def _latest(
    count: int, position: np.ndarray, effective: np.ndarray, choice: np.ndarray
) -> np.ndarray:
    """Per account position, the choice of its latest event (greatest effective time, then
    greatest choice, i.e. ledger id), or ``_NO_CHOICE``."""
    newest = np.full(count, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(newest, position, effective)
    newest_ones = effective == newest[position]
    latest = np.full(count, _NO_CHOICE, dtype=np.int64)
    np.maximum.at(latest, position[newest_ones], choice[newest_ones])
    return latest


def _state_columns(
    latest: np.ndarray, default_of: np.ndarray, defaults: pa.Table, suffix: str
) -> dict[str, pa.Array]:
    """The consent state at one moment: the latest choice when it counts (not a master allow
    given before the listing), else the jurisdiction's default.

    Each account gets a code, its jurisdiction's row in ``defaults`` or one of two more rows
    (an explicit allow, an explicit deny), and each column is a ``take`` of that code."""
    chosen = (latest != _NO_CHOICE) & (latest & 2 == 0)
    allowed = latest & 1 == 1
    rows = defaults.num_rows
    code = np.where(chosen, np.where(allowed, rows, rows + 1), default_of)
    explicit = {
        "reason": pa.array([None, ExclusionReason.DENIED.value], pa.string()),
        "version": pa.nulls(2, pa.string()),
        "default": pa.nulls(2, pa.string()),
        "opt_out_since": pa.nulls(2, TS),
    }
    columns = {
        name: pa.concat_arrays([defaults.column(f"{name}_{suffix}").combine_chunks(), extra]).take(
            code
        )
        for name, extra in explicit.items()
    }
    columns["event"] = pa.array(latest >> 2, mask=~chosen)
    return columns


def _minor_at(birth_date: pa.ChunkedArray, is_minor: pa.ChunkedArray, moment: datetime) -> pa.Array:
    """``consent.is_minor_at`` for every account: under ADULT_AGE on the moment's UTC day
    exactly when born after the same day ADULT_AGE years earlier (28 February for 29 February
    in a common year)."""
    day = moment.date()
    try:
        threshold = day.replace(year=day.year - ADULT_AGE)
    except ValueError:
        threshold = day.replace(year=day.year - ADULT_AGE, day=28)
    return pc.if_else(
        pc.is_valid(birth_date),
        pc.greater(birth_date, pa.scalar(threshold, pa.date32())),
        pc.fill_null(is_minor, False),
    )


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
