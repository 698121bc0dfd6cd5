"""Consent events: the ledger keeps the order sent; re-sending an event never changes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from platform_files import CONSENT, write, write_csv, write_jsonl
from sqlalchemy import Engine, select

from consentry.domain.consent import latest_choice
from consentry.errors import Conflict, InvalidInput
from consentry.ingest import import_file
from consentry.store.db import session_scope
from consentry.store.ledger import verify_consent_chain
from consentry.store.models import ConsentEvent
from consentry.store.parties import add_collaborator
from consentry.store.snapshot import consent_inputs

T = "2024-11-25T00:00:00Z"


def _world(engine: Engine, folder: Path) -> None:
    import_file(engine, "accounts", write(folder, "accounts", "jsonl"))
    with session_scope(engine) as session:
        add_collaborator(
            session,
            id="acme",
            name="Acme",
            country="US",
            listed_at=datetime(2024, 1, 1, tzinfo=UTC),
            actor="test",
        )


def _event(external_id: str, decision: str, collaborator: str | None, **extra: object) -> dict:
    return {
        "external_id": external_id,
        "account_id": "a1",
        "purpose": "train_ai_system",
        "collaborator_id": collaborator,
        "decision": decision,
        "effective_at": T,
        "recorded_at": T,
        **extra,
    }


def _ledger(engine: Engine) -> list[ConsentEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))


def test_events_with_equal_times_keep_the_file_order_not_the_order_of_their_ids(
    engine: Engine, tmp_path: Path
) -> None:
    """An allow for all, then a deny for one collaborator: the deny is the latest choice."""
    _world(engine, tmp_path)
    rows = [_event("9", "allow", None), _event("10", "deny", "acme")]
    import_file(engine, "consent", write_csv(tmp_path / "consent.csv", rows))
    ledger = _ledger(engine)
    assert [e.external_id for e in ledger] == ["9", "10"]
    moment = datetime(2024, 12, 1, tzinfo=UTC)
    choice = latest_choice(
        consent_inputs(engine, purpose="train_ai_system").events_of("a1"),
        account_id="a1",
        purpose="train_ai_system",
        collaborator_id="acme",
        moment=moment,
        as_of=moment,
    )
    assert choice is not None and choice.decision == "deny"


def test_a_sequence_column_gives_the_ledger_order_by_a_stable_sort(
    engine: Engine, tmp_path: Path
) -> None:
    _world(engine, tmp_path)
    rows = [
        _event("c", "deny", "acme", sequence=2),
        _event("a", "allow", None, sequence=1),
        _event("b", "deny", None, sequence=2),
        _event("d", "allow", "acme", sequence=0),
    ]
    import_file(engine, "consent", write_jsonl(tmp_path / "consent.jsonl", rows))
    assert [e.external_id for e in _ledger(engine)] == ["d", "a", "c", "b"]
    with session_scope(engine) as session:
        assert verify_consent_chain(session).ok


def test_a_sequence_on_some_rows_only_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    _world(sqlite_engine, tmp_path)
    rows = [_event("a", "allow", None, sequence=1), _event("b", "deny", None)]
    path = write_jsonl(tmp_path / "consent.jsonl", rows)
    with pytest.raises(InvalidInput, match="given on other rows") as caught:
        import_file(sqlite_engine, "consent", path)
    assert (caught.value.where, caught.value.field) == (f"{path}, line 2", "sequence")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("decision", "allow"),
        ("source", "settings"),
        ("policy_version", "v3"),
        ("effective_at", "2024-11-20T00:00:01Z"),
        ("recorded_at", "2024-11-20T00:00:02Z"),
        ("collaborator_id", "acme"),
    ],
)
def test_an_event_sent_again_with_any_other_content_is_a_conflict_naming_line_and_field(
    engine: Engine, tmp_path: Path, field: str, value: str
) -> None:
    _world(engine, tmp_path)
    import_file(engine, "consent", write(tmp_path, "consent", "jsonl"))
    before = [e.hash for e in _ledger(engine)]
    changed = [CONSENT[0], {**CONSENT[1], field: value}]
    path = write_jsonl(tmp_path / "changed.jsonl", changed)
    with pytest.raises(Conflict, match="never changed") as caught:
        import_file(engine, "consent", path)
    assert (caught.value.where, caught.value.field) == (f"{path}, line 2", field)
    assert "external_id 'e1' was recorded as event" in str(caught.value)
    assert [e.hash for e in _ledger(engine)] == before


def test_a_resent_event_without_recorded_at_is_the_same_event(
    engine: Engine, tmp_path: Path
) -> None:
    _world(engine, tmp_path)
    import_file(engine, "consent", write(tmp_path, "consent", "jsonl"))
    again = [{k: v for k, v in e.items() if k != "recorded_at"} for e in CONSENT]
    report = import_file(engine, "consent", write_jsonl(tmp_path / "again.jsonl", again))
    assert (report.inserted, report.unchanged) == (0, 3)


def test_with_a_quarantine_the_conflicting_event_is_set_aside_and_new_ones_imported(
    engine: Engine, tmp_path: Path
) -> None:
    _world(engine, tmp_path)
    import_file(engine, "consent", write(tmp_path, "consent", "jsonl"))
    rows = [{**CONSENT[0], "decision": "deny"}, _event("e9", "deny", "acme")]
    quarantine = tmp_path / "bad.jsonl"
    path = write_jsonl(tmp_path / "more.jsonl", rows)
    report = import_file(engine, "consent", path, quarantine=quarantine)
    assert (report.inserted, report.quarantined) == (1, 1)
    [bad] = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert (bad["line"], bad["row"]["external_id"]) == (1, "e2")
    assert bad["errors"][0]["field"] == "decision" and "never changed" in bad["reason"]
    assert [e.external_id for e in _ledger(engine)][-1] == "e9"
