"""Dates the way a person writes them, for every page and download a user reads."""

from __future__ import annotations

from datetime import UTC, datetime

MONTHS = (
    "January February March April May June July August September October November December"
).split()


def plain_date(moment: datetime) -> str:
    """The way a person writes a date, "1 March 2025" (month names not from the locale)."""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def plain_time(moment: datetime) -> str:
    """A moment as "1 March 2025 at 14:05 UTC"."""
    return f"{plain_date(moment)} at {moment.astimezone(UTC):%H:%M} UTC"
