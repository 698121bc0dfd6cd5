"""A user follows the platform's sign-in link, switches AI training off with the keyboard and
without JavaScript, sees it in the history, and the next export leaves their posts out; a
collaborator listed after their yes for all is marked new and gets its own switch; every purpose
a policy covers has its section."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from consentry.service.security import make_signin_token
from consentry.store.db import session_scope
from consentry.store.models import DeliveryMember
from e2e.conftest import unlabelled_controls
from service.test_settings_page import list_cleo, publish_every_purpose
from service.world import PLATFORM_SECRET, Service

pytestmark = pytest.mark.browser
MASTER = "Allow collaborators to use my posts to train AI models"


def signin_link(site: Service, account_id: str) -> str:
    return f"{site.url}/auth/signin?token={make_signin_token(PLATFORM_SECRET, account_id)}"


def test_a_user_switches_ai_training_off_and_the_next_export_leaves_their_posts_out(
    browser, site: Service, shoot, tmp_path: Path
) -> None:
    context = browser.new_context(
        java_script_enabled=False, locale="en-GB"
    )  # the page needs no JavaScript
    page = context.new_page()
    page.goto(signin_link(site, "bob"))
    assert page.url == f"{site.url}/me/data-sharing"
    master = page.locator("#switch-all-train_ai_system")
    assert master.locator(".state").inner_text() == "On"
    assert "On by default since 15 November 2024 (opt-out)" in master.inner_text()
    assert unlabelled_controls(page) == []
    shoot(page, "01-data-sharing-default-on")

    switch_off = page.get_by_role("button", name=f"Switch off: {MASTER}")
    switch_off.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/me/data-sharing?saved=*")
    assert "is now off for all collaborators" in page.get_by_role("status").first.inner_text()
    assert master.locator(".state").inner_text() == "Off"
    history = page.locator("table").first
    first_row = history.locator("tbody tr").first.inner_text()
    assert "Off" in first_row and "All collaborators" in first_row and "this page" in first_row
    shoot(page, "02-data-sharing-switched-off")
    context.close()

    from consentry.pipeline.export import run_export

    result = run_export(
        site.engine,
        site.settings,
        license_id="lic-acme",
        cutoff=datetime.now(UTC),
        out_dir=tmp_path / "delivery",
    )
    with session_scope(site.engine) as session:
        members = session.execute(
            select(DeliveryMember.account_id, DeliveryMember.post_id).where(
                DeliveryMember.delivery_id == result.delivery_id
            )
        ).all()
    delivered_accounts = {account for account, _ in members}
    assert "bob" not in delivered_accounts
    assert {"cy", "nia"} <= delivered_accounts  # the export did deliver others' posts


def test_a_user_whose_posts_were_delivered_sees_who_received_them(
    browser, site: Service, shoot, tmp_path: Path
) -> None:
    from consentry.pipeline.export import run_export

    run_export(
        site.engine,
        site.settings,
        license_id="lic-bolt",
        cutoff=datetime.now(UTC),
        out_dir=tmp_path / "delivery",
    )
    page = browser.new_page()
    page.goto(signin_link(site, "cy"))
    delivery = page.get_by_role("region", name="Bolt Labs")
    assert "2 of your posts" in delivery.get_by_role("heading").inner_text()
    assert delivery.get_by_role("table").locator("tbody tr").count() == 2
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download everything of yours that was shared (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == "my-shared-posts.json"
    shoot(page, "03-data-sharing-who-received")
    page.close()


def test_gpc_from_the_browser_switches_sharing_off_and_the_page_says_so(
    browser, site: Service, shoot
) -> None:
    context = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
    page = context.new_page()
    page.goto(signin_link(site, "cy"))
    assert "Global Privacy Control" in page.get_by_role("status").first.inner_text()
    assert page.locator("#switch-all-train_ai_system .state").inner_text() == "Off"
    shoot(page, "04-data-sharing-gpc")
    context.close()


def test_a_replayed_sign_in_link_shows_why_it_is_refused(browser, site: Service, shoot) -> None:
    link = signin_link(site, "bob")
    page = browser.new_page()
    page.goto(link)
    response = page.goto(link)
    assert response.status == 401
    assert "already used" in page.get_by_role("alert").inner_text()
    shoot(page, "05-signin-link-refused")
    page.close()


def test_a_collaborator_listed_after_the_users_yes_is_marked_new_and_switched_on_alone(
    browser, site: Service, shoot
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(signin_link(site, "ada"))  # DE: opt-in
    page.get_by_role("button", name=f"Switch on: {MASTER}").click()
    page.wait_for_url("**/me/data-sharing?saved=*")
    list_cleo(site.engine, listed_at=datetime.now(UTC))
    page.goto(f"{site.url}/me/data-sharing")
    cleo = page.locator("#switch-cleo-train_ai_system")
    badge = cleo.locator(".badge")
    assert badge.is_visible() and badge.inner_text() == "New since your choice"
    assert cleo.locator(".state").inner_text() == "Off"
    assert "does not cover it: switch it on if you want it to get your posts" in cleo.inner_text()
    notice = page.get_by_role("region", name="New since your choice")
    assert "Cleo AI" in notice.inner_text()
    assert unlabelled_controls(page) == []
    shoot(page, "06-data-sharing-new-since-your-choice")

    switch_on = page.get_by_role(
        "button", name="Switch on: Allow Cleo AI (GB) to use my posts to train AI models"
    )
    switch_on.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/me/data-sharing?saved=*")
    assert "is now on for Cleo AI" in page.get_by_role("status").first.inner_text()
    assert cleo.locator(".state").inner_text() == "On"
    assert cleo.locator(".badge").count() == 0
    context.close()


def test_every_purpose_a_policy_covers_has_its_own_section_and_switches(
    browser, site: Service, shoot
) -> None:
    publish_every_purpose(site.engine)
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(signin_link(site, "bob"))
    for heading in (
        "AI training",
        "Personalise what you see",
        "Sharing with other companies",
        "Advertising",
    ):
        assert page.get_by_role("heading", name=heading, level=2).is_visible()
    personalise = page.get_by_role("region", name="Personalise what you see")
    acme = personalise.locator("#switch-acme-personalize")
    assert acme.locator(".state").inner_text() == "On"
    page.get_by_role(
        "button",
        name="Switch off: Allow Acme AI (US) to use my posts to personalise what people see",
    ).click()
    page.wait_for_url("**/me/data-sharing?saved=*")
    assert acme.locator(".state").inner_text() == "Off"
    assert page.locator("#switch-acme-train_ai_system .state").inner_text() == "On"
    assert unlabelled_controls(page) == []
    shoot(page, "07-data-sharing-every-purpose")
    context.close()


def test_after_a_withdrawal_the_user_sees_what_happened_to_each_shared_post(
    browser, site: Service, shoot, tmp_path: Path
) -> None:
    """Read at phone width, without JavaScript: cy's posts went to Acme AI; cy switches AI
    training off, propagation tells Acme AI to delete them, and the page says so post by post."""
    from consentry.pipeline.export import run_export
    from consentry.pipeline.propagate import propagate
    from consentry.service.web.times import UTC_VIEWER

    run_export(
        site.engine,
        site.settings,
        license_id="lic-acme",
        cutoff=datetime.now(UTC),
        out_dir=tmp_path / "delivery",
    )
    context = browser.new_context(
        java_script_enabled=False, locale="en-GB", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(signin_link(site, "cy"))
    acme = page.get_by_role("region", name="Acme AI")
    assert acme.get_by_role("link", name="Post cy-1").get_attribute("href") == "/posts/cy-1"
    assert "Times were rounded to the day." in acme.inner_text()
    assert acme.get_by_role("row", name="Post cy-1").inner_text().endswith("Still shared.")
    master = page.locator("#switch-all-train_ai_system")
    assert (
        "we tell those that already have some to delete them within 30 days" in master.inner_text()
    )

    page.get_by_role("button", name=f"Switch off: {MASTER}").click()
    page.wait_for_url("**/me/data-sharing?saved=*")
    propagate(site.engine, account_ids=["cy"])
    page.goto(f"{site.url}/me/data-sharing#received")
    today = datetime.now(UTC)
    told = (
        f"Withdrawn: we told Acme AI on {UTC_VIEWER.date(today)} to delete it "
        f"(by {UTC_VIEWER.date(today + timedelta(days=30))})."
    )
    for post in ("cy-1", "cy-2"):
        row = acme.get_by_role("row", name=f"Post {post}")
        assert row.locator(".fate").inner_text() == told
    assert unlabelled_controls(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    page.get_by_role("heading", name="Who received my posts").scroll_into_view_if_needed()
    shoot(page, "08-data-sharing-what-happened-after")
    context.close()
