"""Each hostile input found when the importers were tried from outside (issue 10, item 8): a
refusal names the file, the line or row, and the field where there is one, shows no Python
traceback, and changes nothing."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from exports import mastodon_export, x_archive
from platform_files import ACCOUNTS, POSTS, snapshot, write, write_csv, write_jsonl
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.ingest import import_file
from consentry.ingest.mastodon import import_mastodon
from consentry.ingest.x_archive import import_x_archive


def _refused(engine: Engine, run: object, *, says: list[str]) -> InvalidInput:
    before = snapshot(engine)
    with pytest.raises(InvalidInput) as caught:
        run()  # type: ignore[operator]
    message = str(caught.value)
    for part in says:
        assert part in message, message
    assert "Traceback" not in message
    assert snapshot(engine) == before
    return caught.value


@pytest.fixture
def with_accounts(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    import_file(sqlite_engine, "accounts", write(tmp_path, "accounts", "jsonl"))
    return sqlite_engine


def test_invalid_utf8_in_jsonl_is_refused_naming_the_line(
    with_accounts: Engine, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "posts.jsonl", POSTS)
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b"lines", b"l\xffnes")
    path.write_bytes(b"\n".join(lines))
    _refused(
        with_accounts,
        lambda: import_file(with_accounts, "posts", path),
        says=[str(path), "line 2", "not UTF-8"],
    )


def test_invalid_utf8_in_csv_is_refused_naming_the_line(
    with_accounts: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "posts.csv", POSTS[:1] + POSTS[2:])
    data = path.read_bytes().replace(b"hello", b"h\xc3\x28llo")
    path.write_bytes(data)
    _refused(
        with_accounts,
        lambda: import_file(with_accounts, "posts", path),
        says=[str(path), "line 2", "not UTF-8"],
    )


@pytest.mark.parametrize("value", ["0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z"])
def test_a_time_out_of_range_is_refused_naming_line_and_field(
    with_accounts: Engine, tmp_path: Path, value: str
) -> None:
    path = write_jsonl(tmp_path / "posts.jsonl", [dict(POSTS[0], created_at=value)])
    _refused(
        with_accounts,
        lambda: import_file(with_accounts, "posts", path),
        says=[str(path), "line 1", "created_at"],
    )


def test_an_out_of_range_parquet_timestamp_is_refused_naming_row_and_field(
    with_accounts: Engine, tmp_path: Path
) -> None:
    table = pa.table(
        {
            "id": ["p1"],
            "account_id": ["a1"],
            "created_at": pa.array([-62_135_596_800_000_000 - 86_400_000_000], pa.timestamp("us")),
            "text": ["hi"],
        }
    )
    path = tmp_path / "posts.parquet"
    pq.write_table(table, path)
    _refused(
        with_accounts,
        lambda: import_file(with_accounts, "posts", path),
        says=[str(path), "created_at"],
    )


def test_a_huge_integer_is_refused_naming_line_and_field(
    with_accounts: Engine, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "posts.jsonl", [dict(POSTS[0], like_count=10**30)])
    _refused(
        with_accounts,
        lambda: import_file(with_accounts, "posts", path),
        says=[str(path), "like_count"],
    )


def test_a_csv_header_with_a_column_twice_is_refused_naming_it(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("id,handle,handle,jurisdiction\na9,x,y,DE\n")
    _refused(
        sqlite_engine,
        lambda: import_file(sqlite_engine, "accounts", path),
        says=[str(path), "handle", "twice"],
    )


def test_a_very_long_text_in_csv_is_imported(with_accounts: Engine, tmp_path: Path) -> None:
    text = "word " * 700_000  # about 3.5 MB in one cell
    path = write_csv(tmp_path / "posts.csv", [dict(POSTS[0], text=text)])
    import_file(with_accounts, "posts", path)
    [post] = snapshot(with_accounts)["posts"]
    assert post[3] == text


def test_a_huge_bad_value_is_not_echoed_whole(sqlite_engine: Engine, tmp_path: Path) -> None:
    bad = "X" * 10_000_000
    path = write_jsonl(tmp_path / "accounts.jsonl", [dict(ACCOUNTS[0], jurisdiction=bad)])
    error = _refused(
        sqlite_engine,
        lambda: import_file(sqlite_engine, "accounts", path),
        says=[str(path), "jurisdiction"],
    )
    assert len(str(error)) < 2_000


def test_a_quarantine_file_that_is_the_input_is_refused_and_the_input_kept(
    with_accounts: Engine, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "posts.jsonl", [dict(POSTS[0], account_id="nobody")])
    before = path.read_bytes()
    _refused(
        with_accounts,
        lambda: import_file(with_accounts, "posts", path, quarantine=path),
        says=[str(path), "quarantine"],
    )
    assert path.read_bytes() == before


def test_a_quarantine_path_that_is_a_folder_is_refused(
    with_accounts: Engine, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "posts.jsonl", [dict(POSTS[0], account_id="nobody")])
    folder = tmp_path / "aside"
    folder.mkdir()
    _refused(
        with_accounts,
        lambda: import_file(with_accounts, "posts", path, quarantine=folder),
        says=[str(folder), "quarantine"],
    )


def _replace_in_zip(path: Path, member_part: str, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(path) as src:
        members = {name: src.read(name) for name in src.namelist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data in members.items():
            out.writestr(name, data.replace(old, new, 1) if member_part in name else data)
    path.write_bytes(buffer.getvalue())


def test_invalid_utf8_in_an_x_archive_is_refused_naming_the_member(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = x_archive(tmp_path / "x", zipped=True)
    _replace_in_zip(path, "tweets.js", b"full_text", b"full_te\xffxt")
    _refused(
        sqlite_engine,
        lambda: import_x_archive(sqlite_engine, path, jurisdiction="DE", actor="t"),
        says=[f"{path}:", "tweets.js", "UTF-8"],
    )


def test_invalid_utf8_in_a_mastodon_export_is_refused_naming_the_member(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = mastodon_export(tmp_path / "m", zipped=True)
    _replace_in_zip(path, "outbox.json", json.dumps("orderedItems").encode(), b'"ordered\xffItems"')
    _refused(
        sqlite_engine,
        lambda: import_mastodon(sqlite_engine, path, jurisdiction="DE", actor="t"),
        says=[f"{path}:", "outbox.json", "UTF-8"],
    )
