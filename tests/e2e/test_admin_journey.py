"""An admin signs in, publishes policy v3 effective next month, and the user sees the banner;
every admin page is captured and its controls are labelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from consentry.service.security import make_signin_token
from consentry.store.db import session_scope
from consentry.store.models import NoticeServed
from consentry.store.policies import draft_policy, publish_policy
from e2e.conftest import unlabelled_controls
from service.world import PLATFORM_SECRET, STAFF_PASSWORD, Service

pytestmark = pytest.mark.browser


def next_month() -> str:
    today = datetime.now(UTC).date()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return str(first)


def sign_in_as_staff(page, site: Service, username: str) -> None:
    page.goto(f"{site.url}/admin/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/admin")


def test_an_admin_publishes_policy_v3_effective_next_month_and_the_user_sees_the_banner(
    browser, site: Service, shoot
) -> None:
    with session_scope(site.engine) as session:
        draft_policy(
            session,
            version="v2",
            summary="Collaborators may train AI models on public posts; minors are never included.",
            defaults={"train_ai_system": {"EU": "opt_in", "GB": "opt_in", "US": "opt_out"}},
            actor="test",
        )
        publish_policy(
            session,
            version="v2",
            effective_at=datetime(2025, 1, 1, tzinfo=UTC),
            published_at=datetime(2024, 12, 1, tzinfo=UTC),
            actor="test",
        )
    effective = next_month()
    day = datetime.fromisoformat(effective)
    on_the_day = f"{day.day} {day:%B %Y}"
    context = browser.new_context(locale="en-GB")  # the date format of the browser's language
    page = context.new_page()
    page.goto(f"{site.url}/admin/login")
    shoot(page, "10-admin-login")
    sign_in_as_staff(page, site, "alice")
    shoot(page, "11-admin-overview")

    page.get_by_role("link", name="Policies").first.click()
    page.get_by_role("link", name="Draft a new version").click()
    page.get_by_label("Version").fill("v3")
    page.get_by_label("Summary for users (plain words)").fill(
        "From next month, AI training in the US needs your yes, as in Europe."
    )
    # prefilled from v2, one row of selects per default: EU, GB, US
    assert page.locator("#d_jurisdiction-2").input_value() == "US"
    assert page.get_by_label("Default, row 3").input_value() == "opt_out"
    page.get_by_label("Default, row 3").select_option("opt_in")
    assert unlabelled_controls(page) == []
    shoot(page, "12-admin-policy-draft")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(f"{site.url}/admin/policies/v3")
    changed = page.locator("tr", has_text="US").first.inner_text()
    assert "opt_out" in changed and "opt_in" in changed and "changed" in changed
    page.get_by_label("Effective from (start of day, UTC)").fill(effective)
    page.get_by_role("button", name="Preview impact").click()
    page.wait_for_url(f"{site.url}/admin/policies/v3/preview?effective={effective}")
    assert "If you publish v3" in page.locator("#impact-summary").inner_text()
    shoot(page, "13a-admin-policy-impact-preview")
    page.get_by_role("button", name="Publish v3").click()
    assert "Tick the box to confirm" in page.locator("#err-confirm").inner_text()
    page.get_by_label("I have read the impact summary").check()
    page.get_by_role("button", name="Publish v3").click()
    page.wait_for_url(f"{site.url}/admin/policies/v3")
    assert f"effective {on_the_day} at 00:00 UTC" in page.locator("main").inner_text()
    shoot(page, "13-admin-policy-published-with-diff")
    page.close()

    user = context.new_page()
    user.goto(f"{site.url}/auth/signin?token={make_signin_token(PLATFORM_SECRET, 'bob')}")
    banner = user.get_by_role("region", name=f"Our policy changes on {on_the_day} (version v3)")
    assert "goes from “on unless you switch it off” to “off unless you switch it on”" in (
        banner.inner_text()
    )
    assert f"All collaborators: on until {on_the_day}, then off" in banner.inner_text()
    shoot(user, "14-data-sharing-policy-banner")
    context.close()
    with session_scope(site.engine) as session:
        kinds = session.scalars(
            select(NoticeServed.kind).where(
                NoticeServed.account_id == "bob", NoticeServed.policy_version == "v3"
            )
        ).all()
    assert kinds == ["change_banner"]


def test_every_admin_page_renders_with_labelled_controls(browser, site: Service, shoot) -> None:
    page = browser.new_page()
    sign_in_as_staff(page, site, "alice")
    for name, path in [
        ("20-admin-policies", "/admin/policies"),
        ("21-admin-policy-v1", "/admin/policies/v1"),
        ("22-admin-collaborators", "/admin/collaborators"),
        ("23-admin-collaborator", "/admin/collaborators/acme"),
        ("24-admin-licenses", "/admin/licenses"),
        ("26-admin-deliveries", "/admin/deliveries"),
        ("27-admin-audit", "/admin/audit?verify=true"),
    ]:
        response = page.goto(site.url + path)
        assert response.status == 200, path
        assert unlabelled_controls(page) == [], path
        shoot(page, name)

    page.goto(f"{site.url}/admin/exports")
    page.get_by_label("License", exact=True).select_option("lic-acme")
    page.get_by_role("button", name="Start export").click()
    page.wait_for_url("**/admin/exports/*")
    page.wait_for_function(
        "document.querySelector('#job-status').textContent === 'complete'", timeout=120_000
    )
    shoot(page, "25-admin-export-progress")
    delivery = page.locator("a[href^='/admin/deliveries/']").first
    delivery.click()
    assert "complete" in page.locator("main").inner_text()
    shoot(page, "28-admin-delivery")
    page.close()
