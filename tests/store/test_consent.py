"""Recording consent in batches (a group commit's): a few statements whatever the batch's size,
each write answered on its own, the chains whole (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, func, select

from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.store.consent import ConsentWrite, Recorded, record_consents
from consentry.store.db import session_scope
from consentry.store.ledger import hold_heads, verify_audit_chain, verify_consent_chain
from consentry.store.models import Account, AuditEvent, ConsentEvent


def _write(account_id: str, external_id: str | None = None, **fields: str) -> ConsentWrite:
    values = {"purpose": "train_ai_system", "decision": "allow", "source": "api", **fields}
    return ConsentWrite(account_id=account_id, actor="test", external_id=external_id, **values)


@pytest.fixture
def accounts(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        session.add_all(Account(id=f"a{i}", handle=f"h{i}", jurisdiction="DE") for i in range(50))
    return engine


@contextmanager
def _counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("size", [2, 40])
def test_a_batch_costs_the_same_statements_whatever_its_size(accounts: Engine, size: int) -> None:
    with session_scope(accounts) as session:
        record_consents(session, [_write("a49", "first")])  # the chains' heads now exist
    with _counting(accounts) as statements, session_scope(accounts) as session:
        hold_heads(session)  # as a group commit does
        outcomes = record_consents(session, [_write(f"a{i}", f"x{i}") for i in range(size)])
    assert all(isinstance(o, Recorded) and o.created for o in outcomes)
    # lock both heads; check accounts, purposes and external ids at once; update both heads
    checks = [s for s in statements if not s.startswith(("BEGIN", "INSERT"))]
    assert len(checks) == 4, checks
    inserts = [s for s in statements if s.startswith("INSERT")]
    if accounts.dialect.name == "postgresql":  # one round trip per chain
        assert len(inserts) == 2, inserts
    else:  # in process, a row at a time: SQLite does not promise RETURNING in row order
        assert len(inserts) == 2 * size
    with session_scope(accounts) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == size + 1
        order = session.scalars(select(ConsentEvent.external_id).order_by(ConsentEvent.id)).all()
        assert order == ["first", *(f"x{i}" for i in range(size))]
        assert verify_consent_chain(session).ok
        assert verify_audit_chain(session).ok


def test_each_write_of_a_batch_is_refused_or_recorded_on_its_own(accounts: Engine) -> None:
    with session_scope(accounts) as session:
        record_consents(session, [_write("a0", "known")])
    batch = [
        _write("a1", "ok-1"),
        _write("nobody", "no-account"),
        _write("a2", "no-purpose", purpose="sell_everything"),
        _write("a3", "no-collaborator", collaborator_id="nobody-ai"),
        _write("a4", "bad-decision", decision="maybe"),
        _write("a0", "known"),  # sent again, same content
        _write("a0", "known", decision="deny"),  # sent again, other content
        _write("a5", "twice"),
        _write("a5", "twice"),  # the same event twice in one batch
        _write("a6"),  # no external id
    ]
    with session_scope(accounts) as session:
        outcomes = record_consents(session, batch)
    kinds = [
        type(o).__name__ if isinstance(o, Exception) else ("created" if o.created else "again")
        for o in outcomes
    ]
    assert kinds == [
        "created",
        NotFound.__name__,
        InvalidInput.__name__,
        NotFound.__name__,
        InvalidInput.__name__,
        "again",
        Conflict.__name__,
        "created",
        "again",
        "created",
    ]
    first, second = outcomes[7], outcomes[8]
    assert isinstance(first, Recorded) and isinstance(second, Recorded)
    assert first.event.id == second.event.id
    conflict = outcomes[6]
    assert isinstance(conflict, Conflict) and "decision" in str(conflict)
    with session_scope(accounts) as session:
        stored = session.scalars(select(ConsentEvent.external_id).order_by(ConsentEvent.id)).all()
        assert stored == ["known", "ok-1", "twice", None]
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 4
        assert verify_consent_chain(session).ok
        assert verify_audit_chain(session).ok
