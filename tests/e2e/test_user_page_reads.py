"""The user's page as a person reads it, on a laptop and a phone: one banner per pending version
saying what changes for them (no choice, a choice for all, a choice for one collaborator, two
versions pending), the policy in full with its earlier versions, and times in their own zone
with the exact UTC time at hand. Every state is captured at 1280 and 390 px."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from consentry.service.security import make_signin_token
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.policies import draft_policy, publish_policy
from e2e.conftest import axe_violations, fits_the_screen
from service.world import PLATFORM_SECRET, Service

pytestmark = pytest.mark.browser
SOON = datetime(2031, 3, 1, 12, tzinfo=UTC)
LATER = datetime(2031, 6, 1, 12, tzinfo=UTC)
V2_TEXT = """# Licensing public posts for AI training

We may license your **public** posts to companies that train AI models.

| Where you live | Unless you choose |
|---|---|
| Everywhere | shared only if you switch it on |
"""


def publish(
    engine: Engine,
    version: str,
    default: str,
    effective: datetime,
    published: datetime | None = None,
) -> None:
    with session_scope(engine) as session:
        draft_policy(
            session,
            version=version,
            summary=f"AI training is {default} everywhere.",
            defaults={"train_ai_system": {"*": default}},
            full_text=V2_TEXT,
            actor="test",
        )
        publish_policy(
            session, version=version, effective_at=effective, published_at=published, actor="test"
        )


def choose(engine: Engine, account_id: str, decision: str, collaborator_id: str | None) -> None:
    with session_scope(engine) as session:
        record_consent(
            session,
            account_id=account_id,
            purpose="train_ai_system",
            decision=decision,
            source="settings",
            actor=f"user:{account_id}",
            collaborator_id=collaborator_id,
            policy_version="v1",
        )


def open_page(
    browser, site: Service, account_id: str, *, zone: str | None = None, locale: str = "en-GB"
):
    """The user's page as opened from the app's sign-in link (it needs no JavaScript, but
    axe-core runs as a script)."""
    ctx = browser.new_context(locale=locale)  # the browser's Accept-Language
    page = ctx.new_page()
    token = make_signin_token(PLATFORM_SECRET, account_id, zone=zone)
    page.goto(f"{site.url}/auth/signin?token={token}")
    assert page.url == f"{site.url}/me/data-sharing"
    return ctx, page


def checked(page) -> None:
    assert axe_violations(page) == []
    assert fits_the_screen(page)


@pytest.mark.parametrize(
    ("case", "choices", "headline", "lines"),
    [
        (
            "no-choice",
            [],
            "What changes for you",
            [
                "All collaborators: on until 1 March 2031, then off, because you have not "
                "chosen for all collaborators"
            ],
        ),
        (
            "master-choice",
            [("allow", None)],
            "Nothing changes for you",
            [
                "All collaborators: stays on, because you switched it on for all collaborators",
                "Acme AI: stays on, because it follows your choice for all collaborators",
            ],
        ),
        (
            "per-collaborator-choice",
            [("deny", "acme")],
            "What changes for you",
            [
                "Acme AI: stays off, because you switched it off for Acme AI on",
                "Bolt Labs: on until 1 March 2031, then off",
            ],
        ),
    ],
)
def test_the_banner_says_what_changes_for_this_user(
    browser, site: Service, shoot_both, case: str, choices, headline: str, lines: list[str]
) -> None:
    publish(site.engine, "v2", "opt_in", SOON)
    for decision, collaborator in choices:
        choose(site.engine, "bob", decision, collaborator)
    ctx, page = open_page(browser, site, "bob")
    [region] = page.get_by_role("region", name="Our policy changes on 1 March 2031").all()
    text = region.inner_text()
    assert headline in text
    for line in lines:
        assert line in text
    if choices:  # the user's own choice is named, never "you have not chosen" alone
        assert "You have not chosen" not in text and "you have not chosen," not in text
    checked(page)
    shoot_both(page, f"30-banner-{case}")
    ctx.close()


def test_two_pending_versions_have_a_banner_each_and_the_second_follows_the_first(
    browser, site: Service, shoot_both
) -> None:
    publish(site.engine, "v2", "opt_in", SOON)
    publish(site.engine, "v3", "opt_out", LATER)
    ctx, page = open_page(browser, site, "bob")
    first = page.get_by_role("region", name="Our policy changes on 1 March 2031 (version v2)")
    second = page.get_by_role("region", name="Our policy changes on 1 June 2031 (version v3)")
    assert "All collaborators: on until 1 March 2031, then off" in first.inner_text()
    assert "All collaborators: off until 1 June 2031, then on" in second.inner_text()
    assert "goes from “off unless you switch it on” to “on unless you switch it off”" in (
        second.inner_text()
    )
    checked(page)
    shoot_both(page, "31-banner-two-pending-versions")
    ctx.close()


def test_the_full_policy_and_every_earlier_version_can_be_read(
    browser, site: Service, shoot_both
) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    publish(site.engine, "v2", "opt_in", yesterday, published=yesterday - timedelta(days=30))
    ctx, page = open_page(browser, site, "bob")
    policy = page.get_by_role("region", name="Version v2, in force since")
    assert "What changed from version v1:" in policy.inner_text()
    assert "AI training: in your region it was on unless you switch it off; now it is off" in (
        policy.inner_text()
    )
    assert "New:" not in policy.inner_text()
    policy.get_by_text("Read the full policy (version v2)").click()
    assert policy.get_by_role("table").is_visible()  # the Markdown table, rendered
    checked(page)
    shoot_both(page, "32-policy-in-force-full-text")

    page.get_by_role("link", name="Every version of the policy, old and new").click()
    assert page.url == f"{site.url}/me/policies"
    assert page.get_by_role("heading", name="Version v2", level=2).is_visible()
    assert page.get_by_role("heading", name="Version v1", level=2).is_visible()
    checked(page)
    shoot_both(page, "33-policy-every-version")
    ctx.close()


def test_times_are_in_the_zone_the_sign_in_link_names_with_the_exact_utc_time_at_hand(
    browser, site: Service, shoot_both
) -> None:
    choose(site.engine, "bob", "deny", None)
    ctx, page = open_page(
        browser,
        site,
        "bob",
        zone="America/Los_Angeles",
        locale="en-US",
    )
    when = page.locator("table.history time").first
    utc = datetime.fromisoformat(when.get_attribute("datetime").replace("Z", "+00:00"))
    local = utc.astimezone(ZoneInfo("America/Los_Angeles"))
    shown = when.inner_text()
    assert shown.endswith(("PST", "PDT")) and f"{local:%B} {local.day}, {local.year}" in shown
    assert when.get_attribute("title") == f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    assert "Times are in your time zone (America/Los_Angeles)" in page.locator("main").inner_text()
    checked(page)
    shoot_both(page, "34-times-in-the-users-zone")
    ctx.close()

    ctx, page = open_page(browser, site, "bob")  # no zone from the platform
    assert page.locator("table.history time").first.inner_text().endswith(" UTC")
    assert "Times are in UTC" in page.locator("main").inner_text()
    ctx.close()
