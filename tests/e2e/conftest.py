"""Browser tests: Playwright drives Debian's chromium against the real app on a loopback port.

No browser is downloaded: without /usr/bin/chromium these tests skip and say why, unless
CONSENTRY_REQUIRE_BROWSER=1 (set by CI), which makes that a failure. Screenshots go to
``artifacts/screenshots/`` at the repository root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from consentry.service.app import create_app
from consentry.service.background import running
from service.world import Service, seed_staff, seed_world, service_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CONSENTRY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and CONSENTRY_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Service]:
    """The app over a seeded platform with staff users, served on a loopback port."""
    seed_world(sqlite_engine)
    seed_staff(sqlite_engine)
    settings = service_settings(tmp_path / "home", sqlite_engine)
    app = create_app(settings, engine=sqlite_engine)
    with running(app) as url:
        yield Service(url, sqlite_engine, settings, app)
    app.state.propagator.wait_idle()  # nothing may write after the test's database goes
    app.state.reader.dispose()


TAKEN: list[Path] = []


@pytest.fixture
def shoot() -> object:
    """Save a full-page screenshot under artifacts/screenshots/ and print where."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: object, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        print(f"screenshot: {path}")
        TAKEN.append(path)
        return path

    return take


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the screenshots at the end of the run, where they are seen without ``-s``."""
    if TAKEN:
        terminalreporter.write_sep("-", f"{len(TAKEN)} screenshots in {SCREENSHOTS}")
        for path in TAKEN:
            terminalreporter.write_line(str(path))


NAMELESS_CONTROLS = """
() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]')]
  .filter(el => {
    const labelled = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby') || (el.textContent || '').trim();
    return !labelled;
  })
  .map(el => el.outerHTML)
"""


def unlabelled_controls(page: object) -> list[str]:
    """Controls a screen reader could not name (every control needs a label or text)."""
    return page.evaluate(NAMELESS_CONTROLS)  # type: ignore[attr-defined]


LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shoot_both(shoot: Any) -> object:
    """Screenshots of the page at laptop (1280 px) and phone (390 px) width: NAME-laptop.png
    and NAME-phone.png; at phone width the page must not scroll sideways."""

    def take(page: Any, name: str) -> None:
        page.set_viewport_size(LAPTOP)
        shoot(page, f"{name}-laptop")
        page.set_viewport_size(PHONE)
        assert fits_the_screen(page), f"{name}: wider than the 390 px screen"
        shoot(page, f"{name}-phone")
        page.set_viewport_size(LAPTOP)

    return take


def fits_the_screen(page: Any) -> bool:
    """No sideways scroll: the document is no wider than the viewport."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (id, impact, where)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in found
    ]
