"""The SQLite reader's child process: its failures reach the caller with the child's message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

from consentry.errors import ConsentryError
from consentry.store.sqlite_reader import ChildReader


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "platform.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE posts (id TEXT NOT NULL)")
        conn.executemany("INSERT INTO posts VALUES (?)", [(f"p{i}",) for i in range(5)])
    return path


def test_a_query_streams_its_rows_in_batches(database: Path) -> None:
    batches = list(ChildReader(str(database), "SELECT id FROM posts ORDER BY id", 2))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    assert pa.Table.from_batches(batches).column("id").to_pylist() == [f"p{i}" for i in range(5)]


def test_a_failing_query_names_the_database_and_what_sqlite_said(database: Path) -> None:
    with pytest.raises(ConsentryError) as failure:
        list(ChildReader(str(database), "SELECT missing_column FROM posts", 2))
    message = str(failure.value)
    assert message.startswith(f"reading {database} failed: ")
    assert "no such column: missing_column" in message
    assert "Traceback" not in message


def test_a_database_that_cannot_be_opened_is_named_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "platform.db"
    with pytest.raises(ConsentryError) as failure:
        list(ChildReader(str(missing), "SELECT 1", 2))
    assert "failed to open" in str(failure.value)
