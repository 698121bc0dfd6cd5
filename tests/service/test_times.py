"""Times in the viewer's zone with the UTC time on hover; UTC when the zone is unknown."""

from __future__ import annotations

from datetime import UTC, datetime

from consentry.service.web.times import local_time, viewer_zone

MOMENT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def test_a_time_is_shown_in_the_viewers_zone_with_utc_on_hover() -> None:
    shown = str(local_time(MOMENT, viewer_zone("Europe/Berlin")))
    assert shown == (
        '<time datetime="2025-03-01T09:30:00Z" title="2025-03-01 09:30 UTC">'
        "2025-03-01 10:30 CET</time>"
    )


def test_without_a_known_zone_times_are_in_utc_and_say_so() -> None:
    for cookie in (None, "", "Mars/Olympus", "../../etc/passwd"):
        assert viewer_zone(cookie).key == "UTC"
    assert ">2025-03-01 09:30 UTC</time>" in str(local_time(MOMENT, viewer_zone(None)))
    assert str(local_time(None, viewer_zone(None))) == ""
