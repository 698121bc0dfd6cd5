"""Fixtures of the pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from export_platform import CUTOFF, Platform, build_platform
from sqlalchemy import Engine

from consentry.settings import Settings


@pytest.fixture
def platform(engine: Engine, tmp_path: Path) -> Iterator[Platform]:
    build_platform(engine)
    yield Platform(engine, Settings(home=tmp_path / "home"), CUTOFF)
