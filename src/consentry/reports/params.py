"""The parameters a report may take (each report reads those it needs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Params:
    now: datetime = field(default_factory=_now)
    """The moment the report is as of (times after it are not counted)."""
    purpose: str | None = None
    jurisdiction: str | None = None
    """A jurisdiction key (``US-CA``) or a prefix of one (``US``); None: all."""
    months: int = 24
    """How many month-ends the consent-over-time report goes back."""
    year: int | None = None
    """The calendar year of the yearly metrics; None: every year with data."""

    def shown(self) -> dict[str, str]:
        values = {
            "as of": self.now.isoformat(timespec="seconds"),
            "purpose": self.purpose,
            "jurisdiction": self.jurisdiction,
            "year": str(self.year) if self.year else None,
        }
        return {k: v for k, v in values.items() if v}


def month_ends(now: datetime, count: int) -> list[datetime]:
    """The last ``count`` month boundaries up to ``now`` (each the first instant of a month, so
    "at the end of March" is 1 April 00:00 UTC), oldest first, with ``now`` itself last."""
    points = [now]
    year, month = now.year, now.month
    for _ in range(count - 1):
        points.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(set(points))


def month_label(moment: datetime) -> str:
    return f"{moment:%Y-%m}"
