"""Small vectorized helpers: choices from flat pools, string joins and timestamps in Arrow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from consentry.domain.consent_bulk import TS

MICROS_PER_DAY = 86_400_000_000


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone")
    return round(moment.astimezone(UTC).timestamp() * 1_000_000)


def days(day: date) -> int:
    """Days since the epoch (Arrow's date32)."""
    return (day - date(1970, 1, 1)).days


def timestamps(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Microseconds since the epoch as UTC timestamps; ``missing`` marks nulls."""
    return pa.array(values.astype(np.int64), type=TS, mask=missing)


class FlatPool:
    """Lists of strings keyed by group, flattened so that a choice is one index per row."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        sizes = np.array([len(g) for g in groups], dtype=np.int64)
        if (sizes == 0).any():
            raise ValueError("every group of a pool needs at least one entry")
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.sizes = sizes
        self.values = pa.array([v for g in groups for v in g], type=pa.string())

    def pick(self, rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
        """One uniformly chosen index into ``values`` per row of ``group``."""
        within = np.floor(rng.random(len(group)) * self.sizes[group]).astype(np.int64)
        return self.offsets[group] + within

    def pick_other(
        self, rng: np.random.Generator, group: np.ndarray, first: np.ndarray
    ) -> np.ndarray:
        """Like ``pick`` but never ``first`` (in groups of more than one entry)."""
        sizes = self.sizes[group]
        step = 1 + np.floor(rng.random(len(group)) * np.maximum(sizes - 1, 1)).astype(np.int64)
        offsets = self.offsets[group]
        return offsets + (first - offsets + step) % sizes

    def take(self, index: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
        """The strings at ``index``, and "" where ``present`` is False."""
        out = self.values.take(pa.array(index))
        return out if present is None else blank_unless(present, out)


def blank_unless(present: np.ndarray, values: pa.Array | str) -> pa.Array:
    """``values`` where ``present``, else the empty string."""
    if isinstance(values, str):
        values = pa.scalar(values, type=pa.string())
    return pc.if_else(pa.array(present), values, pa.scalar("", type=pa.string()))


def concat(*parts: pa.Array) -> pa.Array:
    """Row-wise concatenation of string arrays."""
    return pc.binary_join_element_wise(*parts, "")


def integers_as_text(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64)).cast(pa.string())
