"""A bad row stops the import with its file, line and field, and nothing is written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from platform_files import ACCOUNTS, CONSENT, POSTS, audit_actions, snapshot, write, write_jsonl
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.ingest import import_file, import_table


def _accounts(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, "accounts", write(tmp_path, "accounts", "jsonl"))


def test_a_malformed_row_names_file_line_and_field_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    _accounts(engine, tmp_path)
    before, actions = snapshot(engine), audit_actions(engine)
    rows = [*POSTS, {"id": "p9", "account_id": "a1", "created_at": "2024-11-31T10:00:00Z"}]
    posts = write_jsonl(tmp_path / "posts.jsonl", rows)
    with pytest.raises(InvalidInput) as caught:
        import_file(engine, "posts", posts)
    assert (caught.value.where, caught.value.field) == (f"{posts}, line 4", "created_at")
    assert str(caught.value).startswith(
        f"{posts}, line 4, field 'created_at': '2024-11-31T10:00:00Z' is not a valid time"
    )
    assert "Nothing was imported" in str(caught.value)
    assert snapshot(engine) == before
    assert audit_actions(engine) == actions


@pytest.mark.parametrize(
    ("fmt", "value"), [("jsonl", "2024-11-20T10:00:00"), ("csv", "2024-11-20 10:00")]
)
def test_a_time_without_zone_is_rejected_with_how_to_fix_it(
    sqlite_engine: Engine, tmp_path: Path, fmt: str, value: str
) -> None:
    _accounts(sqlite_engine, tmp_path)
    rows = [dict(POSTS[0], created_at=value)]
    with pytest.raises(InvalidInput) as caught:
        import_file(sqlite_engine, "posts", write(tmp_path, "posts", fmt, rows))
    assert caught.value.field == "created_at"
    assert f"{value!r} has no time zone; add 'Z' or '+00:00'" in str(caught.value)


def test_a_parquet_timestamp_column_without_zone_is_rejected(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    _accounts(sqlite_engine, tmp_path)
    path = tmp_path / "posts.parquet"
    table = pa.table(
        {
            "id": ["p1"],
            "account_id": ["a1"],
            "created_at": pa.array([datetime(2024, 11, 20, 10)], pa.timestamp("us")),
        }
    )
    pq.write_table(table, path)
    with pytest.raises(InvalidInput, match="have no time zone") as caught:
        import_file(sqlite_engine, "posts", path)
    assert (caught.value.where, caught.value.field) == (str(path), "created_at")


def test_every_bad_row_is_named_in_file_order(sqlite_engine: Engine, tmp_path: Path) -> None:
    _accounts(sqlite_engine, tmp_path)
    rows = [
        dict(POSTS[0], visibility="friends"),
        POSTS[1],
        dict(POSTS[2], like_count=-1),
        dict(POSTS[2], account_id="nobody"),
        dict(POSTS[1]),
    ]
    posts = write_jsonl(tmp_path / "posts.jsonl", rows)
    with pytest.raises(InvalidInput) as caught:
        import_file(sqlite_engine, "posts", posts)
    message = str(caught.value)
    assert caught.value.where == f"{posts}, line 1"
    assert "'friends' is not one of public, protected, direct" in message
    assert "line 3, field 'like_count': -1 must not be negative" in message
    assert "line 4, field 'account_id': unknown account 'nobody'" in message
    assert "line 4, field 'id': duplicate id 'p3'; first on line 3" in message
    assert "line 5, field 'id': duplicate id 'p2'; first on line 2" in message


def test_lines_that_are_not_json_or_have_wrong_types_are_named(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.jsonl"
    lines = [
        json.dumps(ACCOUNTS[0]),
        '{"id": "a2", "handle": ',
        json.dumps(dict(ACCOUNTS[1], protected="maybe")),
        json.dumps(dict(ACCOUNTS[2], id=3)),
    ]
    accounts.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInput) as caught:
        import_file(sqlite_engine, "accounts", accounts)
    message = str(caught.value)
    assert caught.value.where == f"{accounts}, line 2"
    assert "not valid JSON" in message
    assert "line 3, field 'protected': expected true or false, got a string" in message
    assert "line 4, field 'id': expected a string, got a number" in message


def test_arrow_table_errors_name_the_row_index(sqlite_engine: Engine) -> None:
    table = pa.table({"id": ["a1", "a2"], "handle": ["ada", None], "jurisdiction": ["DE", "FR"]})
    with pytest.raises(InvalidInput) as caught:
        import_table(sqlite_engine, "accounts", table, source_name="generated", actor="test")
    assert (caught.value.where, caught.value.field) == ("generated, row index 1", "handle")
    assert "is required" in str(caught.value)


def test_unknown_and_missing_columns_stop_the_import(sqlite_engine: Engine, tmp_path: Path) -> None:
    typo = write_jsonl(tmp_path / "typo.jsonl", [dict(ACCOUNTS[0], deleted="2024-01-01T00:00:00Z")])
    with pytest.raises(InvalidInput, match="unknown column") as caught:
        import_file(sqlite_engine, "accounts", typo)
    assert caught.value.field == "deleted"
    missing = write(tmp_path, "accounts", "csv", [{"id": "a1", "handle": "ada"}])
    with pytest.raises(InvalidInput, match="required column is missing") as caught:
        import_file(sqlite_engine, "accounts", missing)
    assert caught.value.field == "jurisdiction"


def test_consent_events_need_known_purposes_parties_and_a_past_recording_time(
    engine: Engine, tmp_path: Path
) -> None:
    _accounts(engine, tmp_path)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    rows = [
        dict(CONSENT[0], purpose="sell_everything"),
        dict(CONSENT[1], decision="maybe"),
        dict(CONSENT[2], collaborator_id="acme"),
        {**CONSENT[0], "external_id": "e4", "recorded_at": future},
    ]
    consent = write_jsonl(tmp_path / "consent.jsonl", rows)
    with pytest.raises(InvalidInput) as caught:
        import_file(engine, "consent", consent)
    message = str(caught.value)
    assert (
        "line 1, field 'purpose': purpose 'sell_everything' is not a fideslang data use" in message
    )
    assert "line 2, field 'decision': 'maybe' is not one of allow, deny" in message
    assert "line 3, field 'collaborator_id': unknown collaborator 'acme'" in message
    assert "line 4, field 'recorded_at': is in the future" in message
    assert snapshot(engine)["consent"] == []


def test_reposts_and_quotes_need_their_original_and_other_kinds_refuse_one(
    engine: Engine, tmp_path: Path
) -> None:
    _accounts(engine, tmp_path)
    base = {"account_id": "a1", "created_at": "2024-11-20T10:00:00Z", "visibility": "public"}
    rows = [
        {**base, "id": "r1", "kind": "repost", "original_id": "p9"},
        {**base, "id": "q1", "kind": "quote"},
        {**base, "id": "x1", "kind": "post", "original_id": "p9"},
        {**base, "id": "x2", "original_id": "p9"},
        {**base, "id": "x3", "kind": "boost"},
    ]
    posts = write(tmp_path, "posts", "csv", rows)
    with pytest.raises(InvalidInput) as caught:
        import_file(engine, "posts", posts)
    message = str(caught.value)
    assert (caught.value.where, caught.value.field) == (f"{posts}, line 3", "original_id")
    assert "is required for kind quote" in message
    assert "line 4, field 'original_id': is only for kind repost or quote, not post" in message
    assert "line 5, field 'original_id': is only for kind repost or quote, not blank" in message
    assert "line 6, field 'kind': 'boost' is not one of post, reply, repost, quote" in message
    import_file(engine, "posts", write(tmp_path, "posts", "csv", rows[:1]))
    assert snapshot(engine)["posts"][0][7:9] == ("repost", "p9")


def test_a_deletion_dated_in_the_future_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rows = [ACCOUNTS[0], dict(ACCOUNTS[1], deleted_at=future)]
    accounts = write_jsonl(tmp_path / "accounts.jsonl", rows)
    with pytest.raises(InvalidInput, match="is in the future") as caught:
        import_file(sqlite_engine, "accounts", accounts)
    assert (caught.value.where, caught.value.field) == (f"{accounts}, line 2", "deleted_at")
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()  # within the clock skew
    import_file(
        sqlite_engine, "accounts", write_jsonl(accounts, [dict(ACCOUNTS[1], deleted_at=soon)])
    )
