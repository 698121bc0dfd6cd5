"""The consent ledger is append-only and hash-chained; tampering is found and named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from consentry.domain.types import ConsentSource, Decision
from consentry.store.consent import record_consent
from consentry.store.db import make_engine, session_scope
from consentry.store.ledger import GENESIS, verify_audit_chain, verify_consent_chain
from consentry.store.models import Account, ConsentEvent
from consentry.store.policies import ensure_builtin_purposes
from consentry.store.schema import upgrade


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


def _change_by_orm(session: Session, event_id: int) -> None:
    event = session.get(ConsentEvent, event_id)
    assert event is not None
    event.decision = "deny" if event.decision == "allow" else "allow"  # a real change
    session.flush()


def _delete_by_orm(session: Session, event_id: int) -> None:
    session.delete(session.get(ConsentEvent, event_id))
    session.flush()


TAMPERING = {
    # name: (how, the operation the trigger names)
    "orm attribute + flush": (_change_by_orm, "UPDATE"),
    "orm session.delete": (_delete_by_orm, "DELETE"),
    "core update()": (
        lambda s, i: s.execute(
            update(ConsentEvent).where(ConsentEvent.id == i).values(decision="allow")
        ),
        "UPDATE",
    ),
    "core delete()": (
        lambda s, i: s.execute(delete(ConsentEvent).where(ConsentEvent.id == i)),
        "DELETE",
    ),
    "raw UPDATE": (
        lambda s, i: s.execute(
            text("UPDATE consent_events SET recorded_at = now() WHERE id = :id"), {"id": i}
        ),
        "UPDATE",
    ),
    "raw DELETE": (
        lambda s, i: s.execute(text("DELETE FROM consent_events WHERE id = :id"), {"id": i}),
        "DELETE",
    ),
    "raw TRUNCATE": (lambda s, i: s.execute(text("TRUNCATE consent_events CASCADE")), "TRUNCATE"),
}


@pytest.fixture
def postgres_ledger(postgres_url: str) -> Iterator[tuple[Engine, list[int]]]:
    """A migrated PostgreSQL schema (with its append-only trigger) holding three events."""
    engine = make_engine(postgres_url)
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
    yield engine, _seed(engine, 3)
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("how", TAMPERING)
def test_postgres_refuses_any_change_to_a_consent_event(
    postgres_ledger: tuple[Engine, list[int]], how: str
) -> None:
    """Whatever way the code (or anyone connected) tries, the database itself refuses."""
    engine, ids = postgres_ledger
    tamper, operation = TAMPERING[how]
    refused = f"consent_events is append-only: {operation} refused"
    with pytest.raises(DBAPIError, match=refused), session_scope(engine) as session:
        tamper(session, ids[1])
    with session_scope(engine) as session:
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
        assert [e.decision for e in events] == ["deny", "allow", "deny"]
        report = verify_consent_chain(session)
    assert report.ok and report.checked == 3
