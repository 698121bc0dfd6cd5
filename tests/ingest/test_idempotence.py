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
        {
            "id": a["id"],
            "handle": a["handle"] + "_new",
            "jurisdiction": a["jurisdiction"],
            "protected": None,
        }
        for a in ACCOUNTS
    ]
    report = import_file(engine, "accounts", write_jsonl(tmp_path / "slim.jsonl", slim))
    assert report.updated == 3
    with session_scope(engine) as session:
        ada, bob = session.get(Account, "a1"), session.get(Account, "a2")
        assert (ada.handle, ada.display_name) == ("ada_new", "Ada")
        assert (bob.protected, bob.birth_date is not None) == (True, True)


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


def test_consent_events_join_the_chain_in_recorded_order_and_known_ones_are_skipped(
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
        # The first file in (recorded_at, effective_at, external_id) order; e3 was recorded at
        # import time, so last. e0, recorded earliest, came later: the ledger is append-only.
        assert order == ["e1", "e2", "e3", "e0"]
        report = verify_consent_chain(session)
        assert report.ok and report.checked == 4


def test_a_consent_event_sent_again_with_other_content_is_refused_and_nothing_written(
    engine: Engine, tmp_path: Path
) -> None:
    _import_all(engine, tmp_path)
    changed = [dict(e, decision="allow" if e["decision"] == "deny" else "deny") for e in CONSENT]
    with session_scope(engine) as session:
        before = session.query(ConsentEvent).count()
    with pytest.raises(InvalidInput, match="never changed") as refused:
        import_file(engine, "consent", write_jsonl(tmp_path / "changed.jsonl", changed))
    assert repr(CONSENT[0]["external_id"]) in str(refused.value)
    with session_scope(engine) as session:
        assert session.query(ConsentEvent).count() == before
        assert verify_consent_chain(session).ok
