"""Times as the viewer reads them: in the viewer's time zone, with the UTC time on hover.

The zone comes from the ``tz`` cookie, which ``/static/timezone.js`` sets from the browser's own
zone (``Intl``); without it (no JavaScript, first visit, a CLI rendering) times are in UTC and
say so. Every page that shows a time uses the ``local`` filter from here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

ZONE_COOKIE = "tz"


def viewer_zone(cookie: str | None) -> ZoneInfo:
    """The zone a ``tz`` cookie names, or UTC for none or a name the zone database lacks."""
    if not cookie or cookie not in _zones():
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(cookie)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def local_time(moment: datetime | None, zone: ZoneInfo) -> Markup:
    """``<time>`` in ``zone`` with the UTC time as its title (shown on hover)."""
    if moment is None:
        return Markup("")
    utc = moment.astimezone(UTC)
    shown = utc.astimezone(zone)
    label = "UTC" if zone.key == "UTC" else shown.tzname() or zone.key
    return Markup(
        f'<time datetime="{utc.isoformat().replace("+00:00", "Z")}" '
        f'title="{utc:%Y-%m-%d %H:%M} UTC">{shown:%Y-%m-%d %H:%M} {escape(label)}</time>'
    )


@pass_context
def local_filter(context: Context, moment: datetime | None) -> Markup:
    request = context.get("request")
    cookie = request.cookies.get(ZONE_COOKIE) if request is not None else None
    return local_time(moment, viewer_zone(cookie))
