"""Synthetic accounts: who they are, where they live, how old they are, what they hide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from consentry.demo.arrays import (
    MICROS_PER_DAY,
    FlatPool,
    blank_unless,
    concat,
    days,
    integers_as_text,
    micros,
    timestamps,
)
from consentry.demo.names import FAMILY_NAME_FIRST, NAMES
from consentry.demo.scenario import MINOR_REFERENCE_DAY, PERIOD_END, PERIOD_START
from consentry.demo.vocab import JURISDICTIONS, LANGUAGES
from consentry.store.content import ACCOUNTS_SCHEMA

MINOR_SHARE = 0.04
TURNING_18_SHARE = 0.01
"""Adults at the reference day who were still minors when the period began."""
PROTECTED_SHARE = 0.05
DELETED_SHARE = 0.01
BIRTH_DATE_KNOWN = 0.75

FIRST_ACCOUNT = datetime(2011, 1, 1, tzinfo=UTC)
LAST_ACCOUNT = datetime(2024, 12, 1, tzinfo=UTC)
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657


@dataclass(frozen=True)
class Accounts:
    """The accounts table plus what posts and consent history need about each row."""

    table: pa.Table
    language: np.ndarray
    """Index into vocab.LANGUAGES of each account's usual language."""
    jurisdiction: np.ndarray
    """Index into the keys of vocab.JURISDICTIONS."""
    created: np.ndarray
    deleted: np.ndarray
    """Microseconds since the epoch; ``deleted`` is -1 for accounts that still exist."""
    activity: np.ndarray
    """Relative posting rate (heavy-tailed), summing to 1."""


def snowflake_ids(created_micros: np.ndarray) -> pa.Array:
    """Twitter-style ids: milliseconds since an epoch, then a sequence (input sorted by time)."""
    ms = created_micros // 1000 - SNOWFLAKE_EPOCH_MS
    sequence = np.arange(len(ms), dtype=np.int64) & 0xFFF
    return integers_as_text((ms << 22) | sequence)


def _uniform_times(rng: np.random.Generator, n: int, lo: datetime, hi: datetime) -> np.ndarray:
    return micros(lo) + np.floor(rng.random(n) * (micros(hi) - micros(lo))).astype(np.int64)


def _birth_dates(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Days since the epoch, and whether each account is a minor on the reference day."""
    roll = rng.random(n)
    minor = roll < MINOR_SHARE
    turning = (roll >= MINOR_SHARE) & (roll < MINOR_SHARE + TURNING_18_SHARE)
    eighteen_ago = MINOR_REFERENCE_DAY.replace(year=MINOR_REFERENCE_DAY.year - 18)
    # Adults: born around 1992, never later than 18 years before the period began.
    adult_last = days(date(2006, 5, 31))
    adult = np.clip(rng.normal(days(date(1992, 6, 1)), 3650, n), days(date(1950, 1, 1)), adult_last)
    # Minors: between 13 and 18; a quarter of them turn 18 before the year is out.
    soon = rng.random(n) < 0.25
    minor_lo = np.where(soon, days(eighteen_ago) + 1, days(date(2007, 1, 1)))
    minor_hi = np.where(soon, days(date(2006, 12, 31)), days(date(2011, 11, 15)))
    minor_day = minor_lo + np.floor(rng.random(n) * (minor_hi - minor_lo + 1))
    turning_day = days(date(2006, 6, 1)) + np.floor(
        rng.random(n) * (days(eighteen_ago) - days(date(2006, 6, 1)) + 1)
    )
    birth = np.where(minor, minor_day, np.where(turning, turning_day, np.floor(adult)))
    return birth.astype(np.int32), minor


def _names(
    rng: np.random.Generator, region: np.ndarray, regions: list[str]
) -> tuple[pa.Array, pa.Array]:
    """Display names and unique handles drawn from each account's naming region."""
    first = FlatPool([[d for d, _ in NAMES[r][0]] for r in regions])
    first_ascii = FlatPool([[a for _, a in NAMES[r][0]] for r in regions])
    last = FlatPool([[d for d, _ in NAMES[r][1]] for r in regions])
    last_ascii = FlatPool([[a for _, a in NAMES[r][1]] for r in regions])
    i_first, i_last = first.pick(rng, region), last.pick(rng, region)
    n = len(region)

    family_first = np.isin(region, [regions.index(r) for r in FAMILY_NAME_FIRST])
    western = concat(first.take(i_first), blank_unless(~family_first, " "), last.take(i_last))
    display = pc.if_else(
        pa.array(family_first), concat(last.take(i_last), first.take(i_first)), western
    )

    style = rng.random(n)  # first_last | firstlast42 | first1994 | first_last7
    digits = np.select(
        [style < 0.3, style < 0.6, style < 0.85],
        [0, rng.integers(1, 1000, n), rng.integers(1970, 2011, n)],
        rng.integers(1, 10, n),
    )
    underscore = (style < 0.3) | (style >= 0.85)
    handle = concat(
        first_ascii.take(i_first),
        blank_unless(underscore, "_"),
        last_ascii.take(i_last, present=(style < 0.6) | (style >= 0.85)),
        blank_unless(digits > 0, integers_as_text(digits)),
    )
    return display, _deduplicated(rng, handle)


def _repeats(handle: pa.Array) -> np.ndarray:
    """Rows whose handle already occurred on an earlier row (in sorted order, stable)."""
    order = pc.sort_indices(handle).to_numpy()
    ordered = handle.take(pa.array(order))
    repeat = np.zeros(len(handle), dtype=bool)
    if len(handle) > 1:
        same = pc.equal(ordered.slice(1), ordered.slice(0, len(handle) - 1))
        repeat[order[1:][same.to_numpy(zero_copy_only=False)]] = True
    return repeat


def _deduplicated(rng: np.random.Generator, handle: pa.Array) -> pa.Array:
    """Repeats get a few more digits, as platforms suggest; the last resort ``_<row>`` is unique
    because no handle built from names ends in an underscore and digits."""
    for _ in range(3):
        repeat = _repeats(handle)
        if not repeat.any():
            return handle
        more = integers_as_text(rng.integers(1, 10_000, len(handle)))
        handle = pc.if_else(pa.array(repeat), concat(handle, more), handle)
    row = concat(pa.array(["_"] * len(handle)), integers_as_text(np.arange(len(handle))))
    handle = pc.if_else(pa.array(_repeats(handle)), concat(handle, row), handle)
    if _repeats(handle).any():  # pragma: no cover - impossible by construction
        raise AssertionError("synthetic handles are not unique")
    return handle


def generate_accounts(rng: np.random.Generator, n: int) -> Accounts:
    keys = list(JURISDICTIONS)
    shares = np.array([JURISDICTIONS[k][0] for k in keys])
    jurisdiction = rng.choice(len(keys), size=n, p=shares / shares.sum())
    regions = sorted({JURISDICTIONS[k][2] for k in keys})
    region = np.array([regions.index(JURISDICTIONS[k][2]) for k in keys])[jurisdiction]
    language = np.array([LANGUAGES.index(JURISDICTIONS[k][1]) for k in keys])[jurisdiction]

    # Most accounts are years old; one in six joined during the demo period.
    newcomer = rng.random(n) < 0.15
    created = np.where(
        newcomer,
        _uniform_times(rng, n, PERIOD_START, LAST_ACCOUNT),
        _uniform_times(rng, n, FIRST_ACCOUNT, PERIOD_START),
    )
    order = np.argsort(created, kind="stable")
    created, jurisdiction, region, language = (
        created[order],
        jurisdiction[order],
        region[order],
        language[order],
    )

    birth, minor = _birth_dates(rng, n)
    known = rng.random(n) < BIRTH_DATE_KNOWN
    protected = rng.random(n) < PROTECTED_SHARE
    is_deleted = rng.random(n) < DELETED_SHARE
    delete_from = np.maximum(created, micros(PERIOD_START)) + MICROS_PER_DAY
    deleted = np.where(
        is_deleted,
        delete_from + np.floor(rng.random(n) * (micros(PERIOD_END) - 1 - delete_from)),
        -1,
    ).astype(np.int64)
    display, handle = _names(rng, region, regions)

    table = pa.table(
        {
            "id": snowflake_ids(created),
            "handle": handle,
            "display_name": display,
            "jurisdiction": pa.array(keys).take(pa.array(jurisdiction)),
            "birth_date": pa.array(birth, type=pa.date32(), mask=~known),
            "is_minor": pa.array(minor, type=pa.bool_(), mask=known),
            "protected": pa.array(protected),
            "created_at": timestamps(created),
            "deleted_at": timestamps(deleted, missing=~is_deleted),
        },
        schema=ACCOUNTS_SCHEMA,
    )
    activity = rng.lognormal(0.0, 1.2, n)
    return Accounts(table, language, jurisdiction, created, deleted, activity / activity.sum())
