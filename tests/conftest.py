"""Shared fixtures: a migrated database on SQLite and on the real PostgreSQL server.

PostgreSQL tests use their own schema each, so they can run side by side. When the server is
unreachable they are skipped with the reason, unless CONSENTRY_REQUIRE_POSTGRES=1 (set by CI),
which turns the skip into a failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from consentry.store.db import make_engine, session_scope
from consentry.store.policies import ensure_builtin_purposes
from consentry.store.schema import upgrade
from databases import POSTGRES_URL, postgres_schema_url, require_postgres


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield postgres_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'consentry.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database with the built-in purposes, on SQLite and on PostgreSQL."""
    db = make_engine(database_url)
    upgrade(db)
    with session_scope(db) as session:
        ensure_builtin_purposes(session)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database, for tests whose subject is not the storage."""
    db = make_engine(f"sqlite:///{tmp_path / 'consentry.db'}")
    upgrade(db)
    with session_scope(db) as session:
        ensure_builtin_purposes(session)
    yield db
    db.dispose()


@pytest.fixture
def consentry_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory for CLI tests (the CLI reads CONSENTRY_HOME)."""
    from consentry.settings import get_settings

    home = tmp_path / "home"
    monkeypatch.setenv("CONSENTRY_HOME", str(home))
    monkeypatch.delenv("CONSENTRY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
