"""Importing the same file again changes nothing; changed rows are updated, and counted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from platform_files import ACCOUNTS, CONSENT, POSTS, audit_actions, snapshot, write, write_jsonl
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.ingest import import_file
from consentry.store.db import session_scope
from consentry.store.ledger import verify_audit_chain, verify_consent_chain
from consentry.store.models import Account, ConsentEvent, Post


def _import_all(engine: Engine, folder: Path) -> list[tuple[int, int, int, int]]:
    reports = [
        import_file(engine, k, write(folder, k, "jsonl")) for k in ("accounts", "posts", "consent")
    ]
    return [(r.rows_read, r.inserted, r.updated, r.unchanged) for r in reports]


def test_reimporting_the_same_files_changes_nothing_but_one_audit_event_each(
    engine: Engine, tmp_path: Path
) -> None:
    assert _import_all(engine, tmp_path) == [(3, 3, 0, 0), (3, 3, 0, 0), (3, 3, 0, 0)]
    before, actions = snapshot(engine), audit_actions(engine)
    assert _import_all(engine, tmp_path) == [(3, 0, 0, 3), (3, 0, 0, 3), (3, 0, 0, 3)]
    assert snapshot(engine) == before
    assert audit_actions(engine) == [*actions, "import.accounts", "import.posts", "import.consent"]
    with session_scope(engine) as session:
        assert verify_consent_chain(session).ok and verify_audit_chain(session).ok


def test_changed_rows_are_updated_and_the_rest_left_alone(engine: Engine, tmp_path: Path) -> None:
    _import_all(engine, tmp_path)
    edited = [dict(p, text="edited") if p["id"] == "p2" else p for p in POSTS]
    edited.append({"id": "p4", "account_id": "a2", "created_at": "2024-12-01T00:00:00Z"})
    report = import_file(engine, "posts", write_jsonl(tmp_path / "edited.jsonl", edited))
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 2)
    with session_scope(engine) as session:
        assert session.get(Post, "p2").text == "edited"
        assert session.get(Post, "p1").text == 'hello, "world"'
        assert session.get(Post, "p4").text == ""


def test_a_column_the_file_lacks_or_leaves_empty_keeps_the_stored_values(
    engine: Engine, tmp_path: Path
) -> None:
    _import_all(engine, tmp_path)
    slim = [
        {"id": a["id"], "handle": a["handle"] + "_new", "jurisdiction": a["jurisdiction"]}
        for a in ACCOUNTS
    ]
    report = import_file(engine, "accounts", write_jsonl(tmp_path / "slim.jsonl", slim))
    assert report.updated == 3
    with session_scope(engine) as session:
        ada, bob = session.get(Account, "a1"), session.get(Account, "a2")
        assert (ada.handle, ada.display_name) == ("ada_new", "Ada")
        assert (bob.protected, bob.birth_date is not None) == (True, True)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_blank_values_in_an_update_keep_what_the_platform_said_before(
    engine: Engine, tmp_path: Path, fmt: str
) -> None:
    """A minor's private account and a direct message stay so when re-sent with blanks."""
    _import_all(engine, tmp_path)
    accounts = [
        {
            "id": "a2",
            "handle": "bob",
            "jurisdiction": "US-CA",
            "birth_date": None,
            "is_minor": None,
            "display_name": None,
            "deleted_at": None,
        },
    ]
    posts = [
        {
            "id": "p2",
            "account_id": "a1",
            "created_at": "2024-11-21T08:00:00Z",
            "text": "two\nlines",
            "lang": None,
            "reply_to": None,
            "like_count": None,
        },
    ]
    assert import_file(engine, "accounts", write(tmp_path, "accounts", fmt, accounts)).updated == 0
    assert import_file(engine, "posts", write(tmp_path, "posts", fmt, posts)).updated == 0
    with session_scope(engine) as session:
        bob, dm = session.get(Account, "a2"), session.get(Post, "p2")
        assert (bob.protected, bob.is_minor, str(bob.birth_date)) == (True, True, "2010-05-01")
        assert (dm.visibility, dm.reply_to, dm.kind) == ("direct", "p1", "reply")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize(("kind", "field"), [("accounts", "protected"), ("posts", "visibility")])
def test_an_explicit_blank_visibility_or_protected_is_refused_naming_file_line_and_field(
    sqlite_engine: Engine, tmp_path: Path, fmt: str, kind: str, field: str
) -> None:
    _import_all(sqlite_engine, tmp_path)
    rows = [dict(ACCOUNTS[0] if kind == "accounts" else POSTS[0]), {}]
    rows[1] = dict(ACCOUNTS[1] if kind == "accounts" else POSTS[1], **{field: None})
    path = write(tmp_path, kind, fmt, rows)
    before = snapshot(sqlite_engine)
    with pytest.raises(InvalidInput, match="is blank") as caught:
        import_file(sqlite_engine, kind, path)
    unit = "row index 1" if fmt == "parquet" else "line 3" if fmt == "csv" else "line 2"
    assert (caught.value.where, caught.value.field) == (f"{path}, {unit}", field)
    assert snapshot(sqlite_engine) == before


def test_a_jsonl_line_without_the_key_keeps_the_value_and_one_with_null_is_refused(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    _import_all(sqlite_engine, tmp_path)
    left_out = {k: v for k, v in POSTS[1].items() if k != "visibility"}
    import_file(sqlite_engine, "posts", write_jsonl(tmp_path / "p.jsonl", [POSTS[0], left_out]))
    with session_scope(sqlite_engine) as session:
        assert session.get(Post, "p2").visibility == "direct"
    nulled = write_jsonl(tmp_path / "n.jsonl", [POSTS[0], dict(left_out, visibility=None)])
    with pytest.raises(InvalidInput, match="is blank") as caught:
        import_file(sqlite_engine, "posts", nulled)
    assert caught.value.where == f"{nulled}, line 2"


def test_a_recorded_deletion_survives_an_export_taken_before_it(
    engine: Engine, tmp_path: Path
) -> None:
    _import_all(engine, tmp_path)
    older = [dict(a, deleted_at=None) for a in ACCOUNTS]
    older[0]["deleted_at"] = "2025-01-01T00:00:00Z"
    report = import_file(engine, "accounts", write_jsonl(tmp_path / "older.jsonl", older))
    assert (report.updated, report.unchanged) == (1, 2)
    with session_scope(engine) as session:
        assert session.get(Account, "a3").deleted_at == datetime(2024, 12, 1, 7, tzinfo=UTC)
        assert session.get(Account, "a1").deleted_at == datetime(2025, 1, 1, tzinfo=UTC)


def test_consent_events_join_the_chain_in_file_order_and_known_ones_are_skipped(
    engine: Engine, tmp_path: Path
) -> None:
    _import_all(engine, tmp_path)
    more = [
        *CONSENT,
        {
            "external_id": "e0",
            "account_id": "a2",
            "purpose": "train_ai_system",
            "decision": "allow",
            "effective_at": "2024-01-01T00:00:00Z",
            "recorded_at": "2024-01-01T00:00:00Z",
        },
    ]
    report = import_file(engine, "consent", write_jsonl(tmp_path / "more.jsonl", more))
    assert (report.rows_read, report.inserted, report.unchanged) == (4, 1, 3)
    with session_scope(engine) as session:
        order = [e.external_id for e in session.query(ConsentEvent).order_by(ConsentEvent.id)]
        # The first file in its own order (never re-sorted by times or ids: DESIGN rule 7);
        # e0, recorded earliest, came later: the ledger is append-only.
        assert order == ["e2", "e1", "e3", "e0"]
        report = verify_consent_chain(session)
        assert report.ok and report.checked == 4
