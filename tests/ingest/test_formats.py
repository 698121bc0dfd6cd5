"""JSONL, CSV and Parquet files of the same rows import to the same database contents."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from platform_files import fresh_sqlite, snapshot, write, write_jsonl
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.ingest import import_file
from consentry.store.db import session_scope
from consentry.store.models import Account, ConsentEvent, Post


def _import_all(engine: Engine, folder: Path, fmt: str) -> None:
    for kind in ("accounts", "posts", "consent"):
        import_file(engine, kind, write(folder, kind, fmt))


def test_jsonl_rows_become_typed_utc_values_with_defaults(engine: Engine, tmp_path: Path) -> None:
    before = datetime.now(UTC)
    _import_all(engine, tmp_path, "jsonl")
    with session_scope(engine) as session:
        bob = session.get(Account, "a2")
        assert (bob.jurisdiction, bob.birth_date, bob.is_minor, bob.protected) == (
            "US-CA",
            date(2010, 5, 1),
            True,
            True,
        )
        assert session.get(Account, "a1").protected is False  # the default
        assert session.get(Account, "a3").deleted_at == datetime(2024, 12, 1, 7, tzinfo=UTC)
        p2 = session.get(Post, "p2")
        assert p2.created_at == datetime(2024, 11, 21, 8, tzinfo=UTC)
        assert (p2.text, p2.visibility, p2.reply_to, p2.like_count) == (
            "two\nlines",
            "direct",
            "p1",
            0,
        )
        assert session.get(Post, "p3").created_at.microsecond == 123456
        assert session.get(Post, "p3").visibility == "public"
        gpc = session.query(ConsentEvent).filter_by(external_id="e3").one()
        assert gpc.source == "gpc" and gpc.collaborator_id is None
        assert before <= gpc.recorded_at <= datetime.now(UTC) + timedelta(seconds=1)
        assert session.query(ConsentEvent).filter_by(external_id="e1").one().source == "import"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_give_the_same_contents_as_jsonl(
    engine: Engine, tmp_path: Path, fmt: str
) -> None:
    for folder in ("jsonl", fmt):
        (tmp_path / folder).mkdir()
    reference = fresh_sqlite(tmp_path / "jsonl" / "reference.db")
    _import_all(reference, tmp_path / "jsonl", "jsonl")
    _import_all(engine, tmp_path / fmt, fmt)
    jsonl, other = snapshot(reference), snapshot(engine)
    reference.dispose()
    assert other["accounts"] == jsonl["accounts"]
    assert other["posts"] == jsonl["posts"]
    # Event e3 has no recorded_at in the file: each import records it at its own time.
    assert [e[1:9] for e in other["consent"]] == [e[1:9] for e in jsonl["consent"]]


def test_the_format_option_overrides_the_extension(sqlite_engine: Engine, tmp_path: Path) -> None:
    accounts = write(tmp_path, "accounts", "jsonl").rename(tmp_path / "accounts.export")
    with pytest.raises(InvalidInput, match="cannot tell the format") as caught:
        import_file(sqlite_engine, "accounts", accounts)
    assert caught.value.where == str(accounts)
    report = import_file(sqlite_engine, "accounts", accounts, format="jsonl")
    assert report.inserted == 3


def test_csv_errors_name_the_physical_line_past_quoted_newlines_and_blank_lines(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    import_file(sqlite_engine, "accounts", write(tmp_path, "accounts", "jsonl"))
    posts = tmp_path / "posts.csv"
    posts.write_text(
        "id,account_id,created_at,text\n"
        'p1,a1,2024-11-20T10:00:00Z,"first\nsecond\nthird line"\n'
        "\n"
        "p2,a1,yesterday,plain\n"
    )
    with pytest.raises(InvalidInput) as caught:
        import_file(sqlite_engine, "posts", posts)
    assert caught.value.where == f"{posts}, line 6"
    assert caught.value.field == "created_at"
    assert "'yesterday' is not an ISO 8601 time" in str(caught.value)


def test_jsonl_errors_count_blank_lines(sqlite_engine: Engine, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.jsonl"
    write_jsonl(accounts, [{"id": "a1", "handle": "ada", "jurisdiction": "DE"}])
    accounts.write_text(
        accounts.read_text() + "\n   \n" + '{"id": "a2", "handle": "b", "jurisdiction": "XX"}\n'
    )
    with pytest.raises(InvalidInput) as caught:
        import_file(sqlite_engine, "accounts", accounts)
    assert (caught.value.where, caught.value.field) == (f"{accounts}, line 4", "jurisdiction")
    assert "not an ISO 3166" in str(caught.value)
