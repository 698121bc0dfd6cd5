"""Where the test databases are: the real PostgreSQL server, and when to skip without it.

A module of its own (not conftest.py) so that test modules that make their own databases, such
as property tests that need a fresh one per example, can import it.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get(
    "CONSENTRY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("CONSENTRY_REQUIRE_POSTGRES") == "1"


def _postgres_unreachable() -> str | None:
    try:
        probe = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as exc:  # any failure to connect means: not here
        return f"PostgreSQL at {POSTGRES_URL} unreachable ({type(exc).__name__})"
    return None


_UNREACHABLE = _postgres_unreachable()


def require_postgres() -> None:
    if _UNREACHABLE is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"{_UNREACHABLE}, and CONSENTRY_REQUIRE_POSTGRES=1 requires it")
    pytest.skip(f"{_UNREACHABLE}; set CONSENTRY_TEST_POSTGRES_URL to run these tests")


def postgres_schema_url(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
