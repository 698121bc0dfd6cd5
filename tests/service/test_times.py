"""Times people read: their zone (the sign-in link's, else the browser's cookie, else UTC, said
so), their language's date format, and the exact UTC time kept at hand."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from starlette.requests import Request

from consentry.service.security import make_signin_token, read_signin_token
from consentry.service.web.times import Viewer, locale_for, viewer_of

MOMENT = datetime(2024, 11, 15, 14, 5, 7, tzinfo=UTC)


def request(cookie: str = "", accept_language: str = "") -> Request:
    headers = [(b"cookie", cookie.encode()), (b"accept-language", accept_language.encode())]
    return Request({"type": "http", "headers": headers})


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        ("", "15 November 2024 at 14:05 UTC"),
        ("en-GB,en;q=0.8", "15 November 2024 at 14:05 UTC"),
        ("de-DE,de;q=0.9,en;q=0.5", "15. November 2024 at 14:05 UTC"),
        ("xx-YY, fr;q=0.4, en-US;q=0.7", "November 15, 2024 at 2:05\u202fPM UTC"),
        ("*;q=0.1, nonsense;q=abc", "15 November 2024 at 14:05 UTC"),
    ],
)
def test_the_date_format_follows_accept_language(header: str, shown: str) -> None:
    assert viewer_of(request(accept_language=header)).time(MOMENT) == shown


def test_the_sessions_zone_comes_first_then_the_cookie_then_utc() -> None:
    cookie = request(cookie="tz=America/New_York")
    assert viewer_of(cookie, session_zone="Europe/Berlin").zone.key == "Europe/Berlin"
    assert viewer_of(cookie, session_zone="Mars/Olympus").zone.key == "America/New_York"
    assert viewer_of(request(cookie="tz=nowhere")).zone.key == "UTC"


def test_the_exact_utc_time_is_the_title_and_the_attribute() -> None:
    html = Viewer(ZoneInfo("Asia/Kolkata"), Locale("en", "GB")).html(MOMENT)
    assert html == (
        '<time datetime="2024-11-15T14:05:07Z" title="2024-11-15 14:05:07 UTC">'
        "15 November 2024 at 19:35 IST</time>"
    )
    assert Viewer(ZoneInfo("Asia/Dubai")).time(MOMENT).endswith("18:05 UTC+04")


def test_a_day_is_the_viewers_day() -> None:
    assert Viewer(ZoneInfo("Pacific/Auckland")).date(datetime(2024, 11, 15, 12, tzinfo=UTC)) == (
        "16 November 2024"
    )


def test_the_sign_in_link_carries_a_real_zone_or_none() -> None:
    secret = "s" * 40
    claims = read_signin_token(
        secret,
        make_signin_token(secret, "bob", zone="Europe/Berlin"),
        now=datetime.now(UTC),
        max_age_seconds=900,
    )
    assert claims.zone == "Europe/Berlin"
    with pytest.raises(ValueError, match="not an IANA time zone name"):
        make_signin_token(secret, "bob", zone="CEST")
    assert locale_for("") == Locale("en", "GB")
