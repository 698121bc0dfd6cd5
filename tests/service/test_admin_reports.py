"""The reports, invoices and account look-up over real HTTP: each report page has its charts as
titled SVG and its tables; the JSON twin is the same data function's answer; tables as CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from consentry.reports import REPORTS, build_report
from consentry.reports.params import Params
from reports.world import seed_reporting_world
from service.world import Service, seed_staff, sign_in, staff_signed_in


@pytest.fixture
def reporting(engine: Engine, tmp_path: Path) -> Engine:
    seed_reporting_world(engine, tmp_path / "deliveries")
    seed_staff(engine)
    return engine


@pytest.mark.usefixtures("reporting")
def test_every_report_page_has_titled_charts_and_its_json_twin_is_the_data_function(
    service: Service,
) -> None:
    with staff_signed_in(service, "victor") as victor:
        index = victor.get("/admin/reports").text
        for name in REPORTS:
            assert f'href="/admin/reports/{name}"' in index
            page = victor.get(f"/admin/reports/{name}")
            assert page.status_code == 200, name
            expected = build_report(service.engine, name, Params())
            for section in expected.sections:
                assert f'<h2 id="section-{section.key}">' in page.text
                if section.chart is not None:
                    chart = f"chart-{name}-{section.key}"
                    assert re.search(rf'<svg [^>]*role="img"[^>]*id="{chart}"', page.text), chart
                    assert f'<title id="{chart}-title">' in page.text
            twin = victor.get(f"/admin/reports/{name}.json").json()
            assert twin["sections"] == expected.model_dump(mode="json")["sections"], name


@pytest.mark.usefixtures("reporting")
def test_a_report_table_downloads_as_csv_and_bad_parameters_are_named(service: Service) -> None:
    with staff_signed_in(service, "victor") as victor:
        response = victor.get("/admin/reports/deliveries.csv", params={"section": "delivered"})
        no_section = victor.get("/admin/reports/deliveries.csv")
        bad_year = victor.get("/admin/reports/ccpa", params={"year": "last"})
        unknown = victor.get("/admin/reports/nope")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["collaborator_id"]: r["records"] for r in rows} == {"acme": "3", "bolt": "1"}
    assert no_section.status_code == 422 and "delivered, revenue, exclusions" in no_section.text
    assert bad_year.status_code == 422 and "year" in bad_year.text
    assert unknown.status_code == 404


@pytest.mark.usefixtures("reporting")
def test_invoices_are_listed_shown_and_downloaded(service: Service) -> None:
    with staff_signed_in(service, "victor") as victor:
        listing = victor.get("/admin/invoices").text
        line = victor.get("/admin/invoices/d-acme-1").text
        download = victor.get("/admin/invoices.csv").text
    assert "$4.50" in listing and "$1.50 per record delivered" in listing
    assert "20% = $0.90, split among 2 accounts" in line
    assert re.search(r"bob</a></td><td class=\"num\">8</td><td class=\"num\">\$0.65", line)
    rows = list(csv.DictReader(io.StringIO(download)))
    assert [(r["delivery_id"], r["amount_minor"], r["currency"]) for r in rows] == [
        ("d-acme-1", "450", "USD"),
        ("d-bolt-1", "0", "USD"),
    ]


@pytest.mark.usefixtures("reporting")
def test_an_account_look_up_says_what_was_shared_with_whom_under_which_consent(
    service: Service,
) -> None:
    with staff_signed_in(service, "victor") as victor:
        found = victor.get("/admin/accounts", params={"account": "bob"}, follow_redirects=True)
        missing = victor.get("/admin/accounts/nobody")
    page = found.text
    assert "Acme AI: delivery" in page and "bob-1" in page
    assert "the opt_out default of policy v1" in page  # the basis of each delivered record
    assert "the user&#39;s browser (Global Privacy Control)" in page  # bob's GPC signal
    assert "$0.65" in page  # earned this year
    assert missing.status_code == 404 and "No account &#39;nobody&#39;" in missing.text


@pytest.mark.usefixtures("reporting")
def test_the_user_sees_what_their_posts_earned_this_year(service: Service) -> None:
    with sign_in(service, "bob") as bob:
        view = bob.get("/api/me/data-sharing").json()
        page = bob.get("/me/data-sharing").text
    assert [(e["currency"], e["amount_minor"], e["amount"]) for e in view["earned"]] == [
        ("USD", 65, "$0.65")
    ]
    assert "Your posts earned $0.65 this year" in page
