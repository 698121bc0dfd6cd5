"""With a quarantine file, bad rows are set aside with their reasons and the rest imported."""

from __future__ import annotations

import json
from pathlib import Path

from platform_files import POSTS, audit_actions, snapshot, write, write_jsonl
from sqlalchemy import Engine

from consentry.ingest import import_file


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_bad_rows_go_to_the_quarantine_file_and_good_ones_in(
    engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, "accounts", write(tmp_path, "accounts", "jsonl"))
    rows = [
        POSTS[0],
        dict(POSTS[1], created_at="2024-11-21T10:00:00", account_id="nobody"),
        POSTS[2],
    ]
    posts = write_jsonl(tmp_path / "posts.jsonl", rows)
    quarantine = tmp_path / "out" / "bad-posts.jsonl"
    report = import_file(engine, "posts", posts, quarantine=quarantine)
    assert (report.rows_read, report.inserted, report.quarantined) == (3, 2, 1)
    assert [p[0] for p in snapshot(engine)["posts"]] == ["p1", "p3"]
    [bad] = _lines(quarantine)
    assert bad["line"] == 2 and bad["source"] == str(posts)
    assert bad["row"]["id"] == "p2"
    assert {e["field"] for e in bad["errors"]} == {"created_at", "account_id"}
    assert "has no time zone" in bad["reason"] and "unknown account 'nobody'" in bad["reason"]
    assert audit_actions(engine)[-1] == "import.posts"
    assert not list(quarantine.parent.glob(".*partial"))


def test_csv_rows_with_the_wrong_number_of_columns_are_quarantined_as_text(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    import_file(sqlite_engine, "accounts", write(tmp_path, "accounts", "jsonl"))
    posts = tmp_path / "posts.csv"
    posts.write_text(
        "id,account_id,created_at\np1,a1,2024-11-20T10:00:00Z\np2,a1\np3,a2,2024-11-22T10:00:00Z\n"
    )
    quarantine = tmp_path / "bad.jsonl"
    report = import_file(sqlite_engine, "posts", posts, quarantine=quarantine)
    assert (report.rows_read, report.inserted, report.quarantined) == (3, 2, 1)
    assert _lines(quarantine) == [
        {
            "source": str(posts),
            "line": 3,
            "reason": "expected 3 columns, found 2",
            "errors": [{"field": None, "message": "expected 3 columns, found 2"}],
            "row": "p2,a1",
        }
    ]


def test_a_clean_file_leaves_an_empty_quarantine(sqlite_engine: Engine, tmp_path: Path) -> None:
    quarantine = tmp_path / "bad.jsonl"
    accounts = write(tmp_path, "accounts", "parquet")
    report = import_file(sqlite_engine, "accounts", accounts, quarantine=quarantine)
    assert (report.inserted, report.quarantined) == (3, 0)
    assert quarantine.read_text() == ""
