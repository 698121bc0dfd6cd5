"""The transparency report: figures from the staff reports' data functions, every count below
the threshold published as "fewer than N" (page, JSON twin and the yearly HTML file alike)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from consentry.cli import app
from consentry.errors import InvalidInput
from consentry.service.app import create_app
from consentry.service.background import running
from consentry.transparency.report import Transparency, published, transparency_report
from reports.world import seed_reporting_world
from service.world import service_settings

NOW = datetime(2026, 6, 1, tzinfo=UTC)
COUNT_FIELDS = {
    "records",
    "accounts",
    "posts",
    "said_no",
    "notices_issued",
    "notices_honoured",
    "said_no_at_end",
    "received",
    "complied_whole",
    "complied_part",
    "pending",
    "denied",
}


@pytest.fixture
def reporting(engine: Engine, tmp_path: Path) -> Engine:
    seed_reporting_world(engine, tmp_path / "deliveries")
    return engine


def counts_of(value: object) -> list[object]:
    """Every published count in a report's JSON."""
    found: list[object] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in COUNT_FIELDS:
                found.append(item)
            else:
                found += counts_of(item)
    elif isinstance(value, list):
        for item in value:
            found += counts_of(item)
    return found


def report(engine: Engine, threshold: int, year: int = 2025) -> Transparency:
    return transparency_report(
        engine, year=year, now=NOW, threshold=threshold, platform="Social Example"
    )


def test_figures_come_from_the_reports(reporting: Engine) -> None:
    plain = report(reporting, threshold=1)
    recipients = {(r.collaborator, r.purpose): r for r in plain.recipients}
    assert recipients[("Acme AI", "train_ai_system")].records == 3
    assert recipients[("Bolt Labs", "train_ai_system")].records == 1
    assert recipients[("Acme AI", "train_ai_system")].first_delivery == "2025-01"
    january = plain.months[0]
    assert (january.month, january.accounts, january.posts) == ("2025-01", 2, 4)
    assert [m.month for m in plain.months] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert [p.version for p in plain.policies] == ["v1"]
    assert plain.policies[0].effective == "2024-11-15"
    now = datetime.now(UTC)  # the world's deletion, notices and opt-outs happen now
    current = transparency_report(reporting, year=now.year, now=now, threshold=1, platform="x")
    this_month = current.months[-1]
    assert this_month.notices_issued == 2 and this_month.notices_honoured == 1
    assert {c.request for c in current.ccpa} >= {"delete", "opt out of sale or sharing"}


def test_no_count_under_the_threshold_is_shown(reporting: Engine, tmp_path: Path) -> None:
    guarded = json.loads(report(reporting, threshold=10).model_dump_json())
    counts = counts_of(guarded)
    assert counts and all(c == "fewer than 10" or (isinstance(c, int) and c >= 10) for c in counts)
    assert all(
        c["median_days"] is None or isinstance(c["median_days"], str) for c in guarded["ccpa"]
    )
    low = json.loads(report(reporting, threshold=2).model_dump_json())
    assert 3 in counts_of(low) and "fewer than 2" in counts_of(low)  # shown from 2 on


def test_published_counts() -> None:
    assert [published(n, 10) for n in (0, 9, 10, None)] == [
        "fewer than 10",
        "fewer than 10",
        10,
        "fewer than 10",
    ]


def test_a_year_outside_the_data_is_refused(reporting: Engine) -> None:
    with pytest.raises(InvalidInput, match="year"):
        report(reporting, threshold=10, year=2027)


def test_page_and_json_twin_need_no_sign_in(reporting: Engine, tmp_path: Path) -> None:
    settings = service_settings(tmp_path / "home", reporting, platform_name="Social Example")
    app_ = create_app(settings, engine=reporting)
    with running(app_) as url, httpx.Client(base_url=url, timeout=60) as client:
        page = client.get("/transparency", params={"year": 2025})
        twin = client.get("/transparency.json", params={"year": 2025})
    app_.state.propagator.wait_idle()
    app_.state.reader.dispose()
    assert page.status_code == 200 and twin.status_code == 200
    assert twin.json()["recipients"][0]["records"] == "fewer than 10"
    cells = re.findall(r'<td class="num">([^<]*)</td>', page.text)
    assert cells and all(c in ("fewer than 10", "") or int(c.replace(",", "")) >= 10 for c in cells)
    assert "Acme AI" in page.text and "2024-11-15" in page.text


def test_export_writes_the_year_as_one_html_file(
    reporting: Engine, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(
        "CONSENTRY_DATABASE_URL", reporting.url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONSENTRY_TRANSPARENCY_THRESHOLD", "2")
    from consentry.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, ["transparency", "export", "--year", "2025", str(tmp_path / "out")]
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "transparency-2025.html").read_text()
    assert "fewer than 2" in text and "<link" not in text and "<script" not in text
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "transparency-2025.html"]
