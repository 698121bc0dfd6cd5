"""Fixtures of the reliability suite: its scale and the figures it reports.

``CONSENTRY_RELIABILITY_SCALE=long`` runs every test at the sizes of ``make reliability``;
``CONSENTRY_RELIABILITY_REPORT=PATH`` writes the figures each test recorded to PATH (JSON).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reliability.harness import Scale, current_scale, write_report

_FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="session")
def scale() -> Scale:
    return current_scale()


@pytest.fixture
def figures(request: pytest.FixtureRequest, scale: Scale) -> Iterator[dict[str, Any]]:
    """A dict the test fills with what it measured, reported under the test's id."""
    mine: dict[str, Any] = {}
    yield mine
    _FIGURES[request.node.nodeid.split("::", 1)[-1]] = mine


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("CONSENTRY_RELIABILITY_REPORT")
    if target and _FIGURES:
        write_report(Path(target), {"scale": current_scale().name, "tests": _FIGURES})
