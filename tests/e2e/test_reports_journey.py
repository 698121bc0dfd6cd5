"""A privacy officer reads every report in the browser (each chart an SVG with a title), looks
an account up, reads an invoice, and adds a license through the form, whose refused inputs
are named beside their fields. Screenshots of every page land in artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from consentry.reports import REPORTS
from consentry.service.app import create_app
from consentry.service.background import running
from consentry.store.db import session_scope
from consentry.store.models import License
from e2e.conftest import unlabelled_controls
from e2e.test_admin_journey import sign_in_as_staff
from reports.world import seed_reporting_world
from service.world import Service, seed_staff, service_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def reporting_site(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Service]:
    seed_reporting_world(sqlite_engine, tmp_path / "deliveries")
    seed_staff(sqlite_engine)
    settings = service_settings(tmp_path / "home", sqlite_engine)
    app = create_app(settings, engine=sqlite_engine)
    with running(app) as url:
        yield Service(url, sqlite_engine, settings, app)
    app.state.propagator.wait_idle()
    app.state.reader.dispose()


def test_every_report_shows_its_charts_as_titled_svg(
    browser, reporting_site: Service, shoot
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in_as_staff(page, reporting_site, "victor")
    page.get_by_role("link", name="Reports").first.click()
    shoot(page, "30-admin-reports")
    for number, name in enumerate(REPORTS, start=31):
        page.goto(f"{reporting_site.url}/admin/reports/{name}")
        charts = page.locator("svg[role=img]")
        assert charts.count() >= 1, name
        for i in range(charts.count()):
            chart = charts.nth(i)
            title = chart.locator("title").first.text_content() or ""
            assert title.strip(), f"{name}: chart {i} has no title"
            described = chart.get_attribute("aria-describedby") or ""
            assert (page.locator(f"[id='{described}']").text_content() or "").strip(), name
            assert chart.bounding_box()["width"] > 100, name  # drawn, not an empty element
        assert page.locator("table").count() >= 1
        assert unlabelled_controls(page) == [], name
        shoot(page, f"{number}-report-{name}")
    page.close()


def test_an_account_and_an_invoice_are_read_in_plain_words(
    browser, reporting_site: Service, shoot
) -> None:
    page = browser.new_page()
    sign_in_as_staff(page, reporting_site, "victor")
    page.get_by_role("link", name="Accounts").first.click()
    page.get_by_label("Account id (the platform's)").fill("bob")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url(f"{reporting_site.url}/admin/accounts/bob")
    main = page.locator("main").inner_text()
    assert "the opt_out default of policy v1" in main and "Acme AI: delivery d-acme-1" in main
    hover = page.locator("time").first.get_attribute("title") or ""
    assert hover.endswith(" UTC")  # the UTC time on hover
    shoot(page, "40-admin-account-look-up")
    page.goto(f"{reporting_site.url}/admin/invoices/d-acme-1")
    assert "$4.50" in page.locator("main").inner_text()
    shoot(page, "41-admin-invoice")
    page.goto(f"{reporting_site.url}/admin/deliveries/d-acme-1")
    text = page.locator("main").inner_text()
    assert "Records delivered" in text and "{" not in text  # counts in words, no raw dict
    assert "/deliveries/d-acme-1" not in text.replace("/admin/deliveries", "")  # no server path
    page.close()


def test_the_license_form_refuses_bad_input_beside_each_field_then_adds_the_license(
    browser, reporting_site: Service, shoot
) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    sign_in_as_staff(page, reporting_site, "alice")
    page.goto(f"{reporting_site.url}/admin/licenses")
    assert unlabelled_controls(page) == []
    page.get_by_label("Id", exact=True).fill("lic-lumen")
    page.get_by_label("Collaborator", exact=True).select_option("bolt")
    page.get_by_label("Replies", exact=True).uncheck()
    page.get_by_label("English (en)").check()
    page.get_by_label("Times of posts").select_option("month")
    page.get_by_label("Term starts (UTC)").fill("2025-06-01")
    page.get_by_label("Term ends (UTC, optional)").fill("2025-01-01")
    page.get_by_label("How it is priced").select_option("per_1k_tokens")
    page.get_by_label("Price (e.g. 0.40)").fill("-2")
    page.get_by_label("Days the collaborator has").fill("-7")
    page.get_by_role("button", name="Add license").click()
    assert page.locator("#err-term_end").inner_text() == "The term must end after it starts."
    assert "cannot be negative" in page.locator("#err-price").inner_text()
    assert "negative or zero deadline" in page.locator("#err-deletion_sla_days").inner_text()
    assert page.get_by_label("Price (e.g. 0.40)").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("English (en)").is_checked()  # what was chosen is kept
    shoot(page, "42-admin-license-form-refused")
    page.get_by_label("Term ends (UTC, optional)").fill("2026-06-01")
    page.get_by_label("Price (e.g. 0.40)").fill("0.40")
    page.get_by_label("Days the collaborator has").fill("14")
    page.get_by_label("Creators' share of each fee").fill("10")
    page.get_by_role("button", name="Add license").click()
    page.wait_for_url(f"{reporting_site.url}/admin/licenses")
    row = page.locator("tr", has_text="lic-lumen").inner_text()
    assert "post, quote; in en; public only" in row and "times to the month" in row
    assert "$0.40 per 1,000 tokens" in row and "creators get 10%" in row
    shoot(page, "43-admin-license-added")
    page.close()
    with session_scope(reporting_site.engine) as session:
        lic = session.get(License, "lic-lumen")
        assert lic.scope["kinds"] == ["post", "quote"] and lic.scope["languages"] == ["en"]
        assert (lic.price_minor, lic.deletion_sla_days, lic.creator_share_bp) == (40, 14, 1000)
