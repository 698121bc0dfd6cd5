"""Times as the viewer reads them: in the viewer's time zone and date format, the exact UTC time
on hover and in the ``datetime`` attribute.

The zone, first found of: the IANA zone the platform named in the sign-in link (kept with the
session, so no JavaScript is needed), the ``tz`` cookie ``/static/timezone.js`` sets from the
browser's own zone (``Intl``), else UTC, which every time then says. The date and time format
follow the browser's ``Accept-Language`` (Babel's CLDR data: "15 November 2024" for en-GB,
"November 15, 2024" for en-US, "15. November 2024" for de), British English without one. Every
page and data function that shows a time to a person formats it with a ``Viewer`` from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request

ZONE_COOKIE = "tz"
DEFAULT_LOCALE = Locale("en", "GB")
LANGUAGES_READ = 8
"""At most this many entries of an ``Accept-Language`` header are tried."""


@dataclass(frozen=True)
class Viewer:
    """How one person reads times: their zone and their locale's date format."""

    zone: ZoneInfo
    locale: Locale = DEFAULT_LOCALE

    def date(self, moment: datetime) -> str:
        """The day in the viewer's zone, as their locale writes it ("15 November 2024")."""
        return format_date(moment.astimezone(self.zone).date(), "long", locale=self.locale)

    def time(self, moment: datetime) -> str:
        """Day, time and zone: "15 November 2024 at 14:05 CET" ("... UTC" when the zone is
        not known)."""
        shown = moment.astimezone(self.zone)
        clock = format_time(shown.time(), "short", locale=self.locale)
        return f"{self.date(moment)} at {clock} {zone_label(shown)}"

    def html(self, moment: datetime | None) -> Markup:
        """``<time>`` in the viewer's zone; the exact UTC time is its title and attribute."""
        if moment is None:
            return Markup("")
        utc = moment.astimezone(UTC)
        return Markup(
            f'<time datetime="{utc.isoformat().replace("+00:00", "Z")}" '
            f'title="{exact_utc(utc)}">{escape(self.time(utc))}</time>'
        )


UTC_VIEWER = Viewer(ZoneInfo("UTC"))
"""For readers with no browser (the platform API, downloads read by programs, the CLI)."""


def exact_utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def zone_label(shown: datetime) -> str:
    """The zone's abbreviation ("CET", "PST"); an offset-only name reads "UTC+04"."""
    name = shown.tzname() or "UTC"
    return f"UTC{name}" if name[0] in "+-" else name


def known_zone(name: str | None) -> ZoneInfo | None:
    """The zone ``name`` names, or None for none or a name the zone database lacks."""
    if not name or name not in _zones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def locale_for(accept_language: str) -> Locale:
    """The first locale of an ``Accept-Language`` header (by q-value) that CLDR knows."""
    ranked = []
    for position, item in enumerate(accept_language.split(",")[:LANGUAGES_READ]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        try:
            return Locale.parse(tag, sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return DEFAULT_LOCALE


def viewer_of(request: Request, *, session_zone: str | None = None) -> Viewer:
    """The viewer of ``request``: the zone the session keeps, else the browser's cookie, else
    UTC; the date format of its ``Accept-Language``."""
    zone = known_zone(session_zone) or known_zone(request.cookies.get(ZONE_COOKIE))
    return Viewer(zone or ZoneInfo("UTC"), locale_for(request.headers.get("accept-language", "")))


@pass_context
def local_filter(context: Context, moment: datetime | None) -> Markup:
    """``{{ moment|local }}``: the page's ``viewer`` if it passes one (it knows the session's
    zone), else the viewer of the request."""
    viewer = context.get("viewer")
    if not isinstance(viewer, Viewer):
        request = context.get("request")
        viewer = viewer_of(request) if request is not None else UTC_VIEWER
    return viewer.html(moment)
