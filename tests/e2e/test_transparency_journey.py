"""Anyone, signed in or not, reads the transparency report in the browser: the page and the
static file written by ``consentry transparency export`` pass axe-core with no violations, and
neither shows a count under the threshold. Screenshots land in artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import Engine

from consentry.service.app import create_app
from consentry.service.background import running
from consentry.service.web.render import templates
from consentry.transparency.page import html
from consentry.transparency.report import transparency_report
from e2e.conftest import unlabelled_controls
from reports.world import seed_reporting_world
from service.world import Service, service_settings

pytestmark = pytest.mark.browser

SMALL = re.compile(r"^[0-9]$")


@pytest.fixture
def public_site(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Service]:
    seed_reporting_world(sqlite_engine, tmp_path / "deliveries")
    settings = service_settings(tmp_path / "home", sqlite_engine, platform_name="Social Example")
    app = create_app(settings, engine=sqlite_engine)
    with running(app) as url:
        yield Service(url, sqlite_engine, settings, app)
    app.state.propagator.wait_idle()
    app.state.reader.dispose()


def no_violations(page: object) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def shown_counts(page: object) -> list[str]:
    cells = page.locator("td.num, strong")  # type: ignore[attr-defined]
    return [text.strip() for text in cells.all_inner_texts()]


def test_the_public_page_without_sign_in(browser, public_site: Service, shoot) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    year = datetime.now(UTC).year
    page.goto(f"{public_site.url}/transparency")
    assert page.get_by_role("heading", level=1).inner_text().endswith(str(year))
    assert page.get_by_role("table").count() >= 3
    counts = shown_counts(page)
    assert "fewer than 10" in counts
    assert not [c for c in counts if SMALL.match(c.replace(",", ""))], counts
    no_violations(page)
    assert unlabelled_controls(page) == []
    shoot(page, "50-transparency-page")
    page.get_by_role("link", name="2025").click()
    assert page.get_by_role("cell", name="Acme AI").count() == 1
    assert page.get_by_role("cell", name="2024-11-15").count() == 1
    no_violations(page)
    shoot(page, "51-transparency-2025")
    page.get_by_role("link", name="the same figures as JSON").click()
    assert '"threshold": 10' in page.content() or '"threshold":10' in page.content()
    page.close()


def test_the_exported_file_is_accessible(
    browser, public_site: Service, tmp_path: Path, shoot
) -> None:
    report = transparency_report(
        public_site.engine,
        year=2025,
        now=datetime.now(UTC),
        threshold=10,
        platform="Social Example",
    )
    path = tmp_path / "transparency-2025.html"
    path.write_text(html(report, templates().env, is_file=True))
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(path.as_uri())
    counts = shown_counts(page)
    assert counts and not [c for c in counts if SMALL.match(c.replace(",", ""))], counts
    no_violations(page)
    shoot(page, "52-transparency-file")
    page.close()
