"""``consentry report``, ``consentry invoices`` and ``consentry simulate`` on a platform with
known figures: the same data functions as the admin pages, as HTML, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cli.conftest import Run
from consentry.settings import get_settings
from consentry.store.db import get_engine
from reports.world import seed_reporting_world


@pytest.fixture
def platform(cli: Run, tmp_path: Path) -> Engine:
    engine = get_engine(get_settings())
    seed_reporting_world(engine, tmp_path / "deliveries")
    return engine


@pytest.mark.usefixtures("platform")
def test_reports_are_listed_and_written_as_html_csv_and_json(cli: Run, tmp_path: Path) -> None:
    listed = cli("report", "list").output
    for name in ("consent", "gpc", "deliveries", "notices", "ccpa", "payouts"):
        assert name in listed
    page = tmp_path / "notices.html"
    cli("report", "notices", "--format", "html", "--out", str(page))
    html = page.read_text()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and "<title id=" in html
    assert not list(tmp_path.glob(".notices.html.*"))  # written under a temporary name
    rows = list(csv.DictReader(io.StringIO(cli("report", "ccpa", "--format", "csv").output)))
    assert {r["request"] for r in rows} == {"delete", "know", "opt out of sale or sharing"}
    data = json.loads(cli("report", "deliveries", "--format", "json").output)
    assert [s["key"] for s in data["sections"]] == ["delivered", "revenue", "exclusions"]
    refused = cli("report", "deliveries", "--format", "csv", ok=False)
    assert refused.exit_code == 1 and "--section: delivered, revenue, exclusions" in refused.output
    assert "no report 'nope'" in cli("report", "nope", ok=False).output


@pytest.mark.usefixtures("platform")
def test_invoices_are_listed_as_a_table_and_csv_and_shown_with_earnings(cli: Run) -> None:
    table = cli("invoices", "list").output
    assert "d-acme-1" in table and "$4.50" in table
    rows = list(csv.DictReader(io.StringIO(cli("invoices", "list", "--format", "csv").output)))
    assert rows[0]["amount_minor"] == "450" and rows[0]["creator_pool_minor"] == "90"
    shown = cli("invoices", "show", "d-acme-1", "--earnings").output
    assert "$1.50 per record delivered" in shown and "20% = $0.90" in shown
    assert "bob" in shown and "$0.65" in shown
    assert "billed 0 deliveries" in cli("invoices", "bill").output


@pytest.mark.usefixtures("platform")
def test_simulate_reads_a_draft_file_and_names_a_bad_one(cli: Run, tmp_path: Path) -> None:
    draft = tmp_path / "v2.yaml"
    draft.write_text(
        "version: v2\npurposes: [train_ai_system]\n"
        "defaults:\n  train_ai_system:\n    '*': opt_in\n"
        "effective: 2025-01-15\n"
    )
    shown = cli("simulate", "--policy", str(draft), "--at", "2025-06-01T00:00:00Z").output
    assert "lic-acme" in shown and "lic-bolt" in shown
    data = json.loads(
        cli(
            "simulate", "--policy", str(draft), "--at", "2025-06-01T00:00:00Z", "--format", "json"
        ).output
    )
    [acme] = [r for r in data["sections"][0]["rows"] if r["license_id"] == "lic-acme"]
    # bob's GPC no and cy's deletion leave nia's two posts, shared by her own yes either way
    assert (acme["posts_now"], acme["posts_draft"], acme["accounts_draft"]) == (2, 2, 1)
    draft.write_text("version: v2\nefective: 2025-01-15\n")
    refused = cli("simulate", "--policy", str(draft), ok=False)
    assert refused.exit_code == 1 and "v2.yaml" in refused.output
