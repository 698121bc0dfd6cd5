"""The chain checked up to one event: what a receipt for that event rests on, and no more."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.ledger import verify_consent_chain, verify_consent_chain_to
from consentry.store.models import Account


def _seed(engine: Engine, n: int = 4) -> list[int]:
    with session_scope(engine) as session:
        session.add(Account(id="a1", handle="ada", jurisdiction="DE", protected=False))
        session.flush()
        return [
            record_consent(
                session,
                account_id="a1",
                purpose="train_ai_system",
                decision="allow" if i % 2 else "deny",
                source="settings",
                actor="test",
                effective_at=datetime(2024, 11, 20 + i, tzinfo=UTC),
            ).id
            for i in range(n)
        ]


def _edit(engine: Engine, event_id: int) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE consent_events DISABLE TRIGGER USER"))
        conn.execute(
            text("UPDATE consent_events SET source = 'admin' WHERE id = :id"), {"id": event_id}
        )


def test_an_edit_after_the_event_does_not_touch_its_check_but_one_before_does(
    engine: Engine,
) -> None:
    ids = _seed(engine)
    _edit(engine, ids[3])
    with session_scope(engine) as session:
        up_to = verify_consent_chain_to(session, event_id=ids[2])
        assert up_to.ok and up_to.checked == 3
        assert verify_consent_chain(session).first_break.event_id == ids[3]  # type: ignore[union-attr]
    _edit(engine, ids[1])
    with session_scope(engine) as session:
        broken = verify_consent_chain_to(session, event_id=ids[2])
    assert broken.first_break is not None and broken.first_break.event_id == ids[1]


def test_an_event_that_is_not_in_the_ledger_is_named(engine: Engine) -> None:
    ids = _seed(engine, 2)
    with session_scope(engine) as session:
        report = verify_consent_chain_to(session, event_id=ids[-1] + 5)
    assert report.first_break is not None and report.first_break.event_id == ids[-1] + 5
    assert "missing" in report.first_break.problem
