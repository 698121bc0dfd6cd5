"""The consent snapshot: every account's consent state at one cut-off, in bulk.

One row per account (``SNAPSHOT_SCHEMA``): the account-level checks of rule 1 and the consent
state of rules 2, 3 and 6 at the cut-off and at ``as_of``; ``consent_bulk.post_verdict_sql``
joins posts with it. Policy defaults are resolved per distinct jurisdiction by the very functions
of ``consent``; the latest choice per account is the one row-wise part restated here, and a
property test holds the snapshot to ``consent.consent_state_at``.

Why not one SQL plan: grouping three million events by account id string, then joining the
groups back onto a million accounts by string, cost most of the time; even a single hash join
of the events with the accounts cost two thirds of it. Here no string is matched: each event
carries its account's ordinal (``store.models.Account.ordinal``), an array indexed by ordinal
gives the account's position, the latest event per position is a scatter-max over integers
(numpy), and every output column is either a column of the accounts table as it is or a
``take`` from the few rows of per-jurisdiction defaults.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from consentry.domain.consent import default_state
from consentry.domain.consent_bulk import TS, as_utc
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
    and at ``as_of``, in the order first given."""
    rows = []
    for jurisdiction in dict.fromkeys(jurisdictions):
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
# relevant event is read as its account's position in the accounts table (found through the
# account's ordinal, which the event carries: an array lookup, no join), its effective time in
# microseconds and a choice: the event's id with two flags in the lowest bits, whether it is a
# master allow given before the collaborator was listed (rule 6: no choice for this
# collaborator) and its decision. The id dominates the choice, so among events of equal
# effective time the greatest choice is the latest in ledger order.
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
) -> Iterator[pa.Table]:
    """``account_snapshot`` with the cut-off and ``as_of`` both at each of ``moments`` (the
    ledger as recorded by then), in their order. The events are matched to their accounts once
    for all the moments."""
    if not moments:
        return
    moments = [as_utc(m) for m in moments]
    relevant = relevant_events(
        accounts,
        events,
        purpose=purpose,
        collaborator_id=collaborator_id,
        listed_at=listed_at,
        as_of=max(moments),
        recorded=True,
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
    account's position, effective microseconds, packed choice and, when asked for, recorded
    microseconds."""

    position: np.ndarray
    effective: np.ndarray
    choice: np.ndarray
    recorded: np.ndarray | None = None

    def known_at(self, moment: datetime) -> RelevantEvents:
        """Those recorded and effective by ``moment`` (as ``relevant_events`` at it)."""
        if self.recorded is None:
            raise ValueError("these events were matched without their recorded times")
        limit = _micros(moment)
        return self.where((self.recorded <= limit) & (self.effective <= limit))

    def where(self, keep: np.ndarray) -> RelevantEvents:
        """Those that ``keep`` (a mask) marks."""
        at = np.flatnonzero(keep)
        return RelevantEvents(
            self.position.take(at),
            self.effective.take(at),
            self.choice.take(at),
            None if self.recorded is None else self.recorded.take(at),
        )


def relevant_events(
    accounts: pa.Table,
    events: pa.Table,
    *,
    purpose: str,
    collaborator_id: str,
    listed_at: datetime | None,
    as_of: datetime,
    recorded: bool = False,
) -> RelevantEvents:
    """Each event that counts for (purpose, collaborator or all) as recorded by ``as_of``,
    matched to its account's position; events of accounts not in ``accounts`` are left out.
    With ``recorded``, the events' recorded times too (``RelevantEvents.known_at`` reads them).
    """
    collaborator = events.column("collaborator_id")
    limit = pa.scalar(as_utc(as_of), TS)
    # Each test reads whole columns into a bitmap, and Arrow runs them without the GIL: on
    # threads (the costliest first). The bitmaps are combined as bitmaps; only the events that
    # count are read further.
    allow, of_purpose, for_collaborator, in_time = _in_parallel(
        events.num_rows,
        lambda: pc.equal(events.column("decision"), "allow"),
        lambda: pc.equal(events.column("purpose"), purpose),
        # A master-switch event (no collaborator) counts for every collaborator; Kleene's or
        # is true for it, so no null is left to fill.
        lambda: pc.or_kleene(pc.is_null(collaborator), pc.equal(collaborator, collaborator_id)),
        lambda: pc.and_(
            pc.less_equal(events.column("recorded_at"), limit),
            pc.less_equal(events.column("effective_at"), limit),
        ),
    )
    chosen = np.flatnonzero(_bits(pc.and_(pc.and_(of_purpose, for_collaborator), in_time)))

    def choices() -> tuple[np.ndarray, np.ndarray]:
        effective = _micros_of(events.column("effective_at")).take(chosen)
        allowed = _bits(allow).take(chosen)
        ids = _numpy(events.column("id"))
        if len(ids) and ids.max() >= 2**61:
            raise ValueError("ledger ids from 2**61 on do not fit the bulk rule's packed choice")
        choice = ids.take(chosen)
        choice *= 4
        choice += allowed
        if listed_at is not None:
            before_listing = _bits(pc.is_null(collaborator)).take(chosen)
            before_listing &= allowed
            before_listing &= effective < _micros(as_utc(listed_at))
            np.add(choice, 2, out=choice, where=before_listing)
        return effective, choice

    position, (effective, choice), recorded_at = _in_parallel(
        len(chosen),
        lambda: _positions(
            _numpy(accounts.column("ordinal")), _numpy(events.column("account_ordinal")), chosen
        ),
        choices,
        lambda: _micros_of(events.column("recorded_at")).take(chosen) if recorded else None,
    )
    relevant = RelevantEvents(position, effective, choice, recorded_at)
    return relevant.where(position >= 0) if len(position) and position.min() < 0 else relevant


def _positions(
    account_ordinals: np.ndarray, ordinals: np.ndarray, chosen: np.ndarray
) -> np.ndarray:
    """For each of ``ordinals[chosen]``, the position in ``account_ordinals`` of that ordinal,
    or -1."""
    if not len(account_ordinals):
        return np.full(len(chosen), -1, dtype=np.int64)
    # Indexed by ordinal - lowest + 1, with -1 at both ends for the ordinals out of range
    # (``clip`` sends them there); 32 bits when they fit, as the lookups miss the cache.
    shift = int(account_ordinals.min()) - 1
    position_of = np.full(
        int(account_ordinals.max()) - shift + 2,
        -1,
        dtype=np.int32 if len(account_ordinals) < 2**31 else np.int64,
    )
    position_of[account_ordinals - shift] = np.arange(
        len(account_ordinals), dtype=position_of.dtype
    )
    wanted = ordinals.take(chosen)
    wanted -= shift
    return position_of.take(wanted, mode="clip").astype(np.int64)


_PARALLEL_FROM = 100_000
"""Rows from which independent column computations run on threads (below it, handing them over
costs more than it saves)."""


@lru_cache
def _pool_of(pid: int) -> ThreadPoolExecutor:
    """The process's pool, by process id: a child forked after the parent's pool started its
    threads would inherit a pool that believes it has idle threads and none that run."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="consent-snapshot")


def _in_parallel(rows: int, *computations: Callable[[], Any]) -> list[Any]:
    """The computations' results in order: on the process's pool for ``rows`` from
    ``_PARALLEL_FROM`` on, else one after the other."""
    if rows < _PARALLEL_FROM:
        return [compute() for compute in computations]
    pool = _pool_of(os.getpid())
    return [f.result() for f in [pool.submit(compute) for compute in computations]]


def _numpy(values: pa.ChunkedArray) -> np.ndarray:
    """A numeric column without nulls as a numpy array (a view of it when in one chunk)."""
    return values.to_numpy()


def _bits(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean column as a numpy array, nulls false: its bitmap unpacked in one pass
    (``to_numpy`` costs some thirty times as much for booleans)."""
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    if mask.null_count:
        mask = pc.fill_null(mask, False)
    bitmap = np.frombuffer(mask.buffers()[1], dtype=np.uint8)
    bits = np.unpackbits(bitmap, count=mask.offset + len(mask), bitorder="little")
    return bits[mask.offset :].view(np.bool_)


def _micros_of(times: pa.ChunkedArray) -> np.ndarray:
    return _numpy(times.cast(pa.int64()))


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
    count = accounts.num_rows
    encoded, (latest_t, latest_now), account_columns = _in_parallel(
        count,
        lambda: pc.dictionary_encode(accounts.column("jurisdiction")).combine_chunks(),
        lambda: _latest_at_both(count, relevant, cutoff),
        lambda: _account_columns(accounts, cutoff, as_of),
    )
    defaults = jurisdiction_defaults(
        encoded.dictionary.to_pylist(),
        policies,
        purpose=purpose,
        listed_at=listed_at,
        cutoff=cutoff,
        as_of=as_of,
    )
    default_of = encoded.indices.to_numpy()
    at_t = _state_columns(latest_t, default_of, defaults, "t")
    same = latest_now is latest_t and all(
        defaults[f"{name}_t"].equals(defaults[f"{name}_now"]) for name in _DEFAULT_NAMES
    )
    # Normally nothing happened between the cut-off and as_of: the same columns serve both.
    at_now = at_t if same else _state_columns(latest_now, default_of, defaults, "now")
    columns = dict(account_columns)
    for suffix, state in (("t", at_t), ("now", at_now)):
        columns.update({f"{name}_{suffix}": state[name] for name in _STATE_NAMES})
    return pa.table(columns, schema=SNAPSHOT_SCHEMA)


def _latest_at_both(
    count: int, relevant: RelevantEvents, cutoff: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """Per account position, the choice of its latest event at the cut-off and at as_of (the
    same array when no relevant event is effective between them)."""
    position, effective, choice = relevant.position, relevant.effective, relevant.choice
    if not len(effective) or effective.max() <= _micros(cutoff):
        latest = _latest(count, position, effective, choice)
        return latest, latest
    later = effective > _micros(cutoff)
    at_cutoff, after = np.flatnonzero(~later), np.flatnonzero(later)
    latest_t = _latest(count, position[at_cutoff], effective[at_cutoff], choice[at_cutoff])
    # An event effective after the cut-off (and by as_of) is later than any event at it.
    latest_later = _latest(count, position[after], effective[after], choice[after])
    np.copyto(latest_later, latest_t, where=latest_later == _NO_CHOICE)
    return latest_t, latest_later


def _account_columns(
    accounts: pa.Table, cutoff: datetime, as_of: datetime
) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The snapshot's columns that come from the account alone."""
    birth_date, is_minor = accounts.column("birth_date"), accounts.column("is_minor")
    deleted_at = accounts.column("deleted_at")
    minor = _minor_at(birth_date, is_minor, cutoff)
    if as_of.date() != cutoff.date():  # on the same UTC day, the same answer
        minor = pc.or_(minor, _minor_at(birth_date, is_minor, as_of))
    return {
        "account_id": accounts.column("id"),
        "jurisdiction": accounts.column("jurisdiction"),
        "deleted": pc.fill_null(pc.less_equal(deleted_at, pa.scalar(as_of, TS)), False),
        "minor": minor,
        "protected": pc.fill_null(accounts.column("protected"), False),
    }


def _latest(
    count: int, position: np.ndarray, effective: np.ndarray, choice: np.ndarray
) -> np.ndarray:
    """Per account position, the choice of its latest event (greatest effective time, then
    greatest choice, i.e. ledger id), or ``_NO_CHOICE``."""
    newest = np.full(count, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(newest, position, effective)
    newest_ones = np.flatnonzero(effective == newest.take(position))
    latest = newest  # its memory, no longer needed as it was
    latest.fill(_NO_CHOICE)
    np.maximum.at(latest, position.take(newest_ones), choice.take(newest_ones))
    return latest


def _state_columns(
    latest: np.ndarray, default_of: np.ndarray, defaults: pa.Table, suffix: str
) -> dict[str, pa.Array]:
    """The consent state at one moment: the latest choice when it counts (not a master allow
    given before the listing), else the jurisdiction's default.

    Each account gets a code, its jurisdiction's row in ``defaults`` or one of two more rows
    (an explicit allow, an explicit deny), and each column is a ``take`` of that code."""
    # The two lowest bits: 0 a deny, 1 an allow, 3 a master allow before the listing or no
    # choice at all (``_NO_CHOICE`` has every bit set).
    flags = latest & 3
    chosen = flags < 2
    rows = defaults.num_rows
    code = np.subtract(rows + 1, flags, out=flags)
    np.copyto(code, default_of, where=~chosen)
    explicit = {
        "reason": pa.array([None, ExclusionReason.DENIED.value], pa.string()),
        "version": pa.nulls(2, pa.string()),
        "default": pa.nulls(2, pa.string()),
        "opt_out_since": pa.nulls(2, TS),
    }
    values = {
        name: pa.concat_arrays([defaults.column(f"{name}_{suffix}").combine_chunks(), extra])
        for name, extra in explicit.items()
    }
    taken = _in_parallel(
        len(code),
        *(lambda of=of: of.take(code) for of in values.values()),
        lambda: pa.array(latest >> 2, mask=~chosen),
    )
    return dict(zip([*values, "event"], taken, strict=True))


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
