"""The real app under uvicorn on a loopback port, over the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from consentry.service.app import create_app
from consentry.service.background import running
from consentry.store.credentials import create_platform_token
from consentry.store.db import session_scope
from service.world import Service, seed_deliveries, seed_staff, seed_world, service_settings


@pytest.fixture
def service(engine: Engine, tmp_path: Path) -> Iterator[Service]:
    settings = service_settings(tmp_path / "home", engine)
    app = create_app(settings, engine=engine)
    with running(app) as url:
        yield Service(url, engine, settings, app)
    app.state.propagator.wait_idle()  # nothing may write after the test's database goes
    app.state.reader.dispose()


@pytest.fixture
def platform_token(engine: Engine) -> str:
    with session_scope(engine) as session:
        return create_platform_token(session, name="backend", actor="test")[1]


@pytest.fixture
def platform(service: Service, platform_token: str) -> Iterator[httpx.Client]:
    """A client of the platform API holding a valid service token."""
    with service.client(headers={"Authorization": f"Bearer {platform_token}"}) as client:
        yield client


@pytest.fixture
def world(engine: Engine) -> Engine:
    seed_world(engine)
    return engine


@pytest.fixture
def delivered(world: Engine, tmp_path: Path) -> dict[str, Path]:
    """Two complete deliveries (acme: bob-1, bob-2, cy-1; bolt: cy-2) with real shards."""
    return seed_deliveries(world, tmp_path / "deliveries")


@pytest.fixture
def staff(world: Engine) -> Engine:
    """alice (admin) and victor (viewer)."""
    seed_staff(world)
    return world
