"""The consent ledger is append-only and hash-chained; tampering is found and named."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from consentry.domain.types import ConsentSource, Decision
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.ledger import GENESIS, verify_audit_chain, verify_consent_chain
from consentry.store.models import Account, ConsentEvent


def _seed(engine: Engine, n: int = 5) -> list[int]:
    with session_scope(engine) as session:
        session.add(Account(id="a1", handle="ada", jurisdiction="DE", protected=False))
        session.flush()
        ids = []
        for i in range(n):
            event = record_consent(
                session,
                account_id="a1",
                purpose="train_ai_system",
                decision=Decision.ALLOW if i % 2 else Decision.DENY,
                source=ConsentSource.SETTINGS,
                actor="test",
                effective_at=datetime(2024, 11, 20 + i, tzinfo=UTC),
            )
            ids.append(event.id)
    return ids


def test_events_chain_to_their_predecessor(engine: Engine) -> None:
    ids = _seed(engine)
    with session_scope(engine) as session:
        events = [session.get(ConsentEvent, i) for i in ids]
        assert events[0].prev_hash == GENESIS
        for before, after in pairwise(events):
            assert after.prev_hash == before.hash
        report = verify_consent_chain(session)
        assert report.ok and report.checked == 5
        assert verify_audit_chain(session).ok


def test_editing_an_event_behind_the_codes_back_is_reported(engine: Engine) -> None:
    ids = _seed(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # The trigger refuses the edit; a superuser must disable it to tamper.
            conn.execute(text("ALTER TABLE consent_events DISABLE TRIGGER USER"))
        conn.execute(
            text("UPDATE consent_events SET decision = 'allow' WHERE id = :id"), {"id": ids[2]}
        )
    with session_scope(engine) as session:
        report = verify_consent_chain(session)
    assert not report.ok
    assert report.first_break is not None
    assert report.first_break.event_id == ids[2]
    assert "content" in report.first_break.problem


def test_deleting_the_last_event_is_reported(engine: Engine) -> None:
    ids = _seed(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE consent_events DISABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM consent_events WHERE id = :id"), {"id": ids[-1]})
    with session_scope(engine) as session:
        report = verify_consent_chain(session)
    assert not report.ok and "missing" in report.first_break.problem


@pytest.mark.postgres
def test_postgres_trigger_refuses_update_and_delete(postgres_url: str) -> None:
    from consentry.store.db import make_engine
    from consentry.store.policies import ensure_builtin_purposes
    from consentry.store.schema import upgrade

    engine = make_engine(postgres_url)
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
    ids = _seed(engine, 1)
    for statement in (
        "UPDATE consent_events SET decision = 'allow' WHERE id = :id",
        "DELETE FROM consent_events WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"id": ids[0]})
    engine.dispose()


def test_the_code_has_no_update_or_delete_path_for_consent_events() -> None:
    import consentry

    root = __import__("pathlib").Path(consentry.__file__).parent
    offenders = [
        str(path)
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
        and any(
            pattern in path.read_text()
            for pattern in (
                "update(ConsentEvent",
                "delete(ConsentEvent",
                "UPDATE consent_events",
                "DELETE FROM consent_events",
            )
        )
    ]
    assert offenders == []
