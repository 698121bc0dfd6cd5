"""Consent writes in one statement on PostgreSQL (``record_consents_at_once``): the database
chains the rows from ``canonical_pieces`` and its hashes are the ledger's own; anything it
cannot answer alone writes nothing and goes the locking way, which answers each write."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, func, select

from consentry.errors import Conflict, NotFound
from consentry.store.consent import (
    ConsentWrite,
    Recorded,
    consent_writes,
    record_consents,
    record_consents_at_once,
)
from consentry.store.db import make_engine, session_scope
from consentry.store.ledger import (
    EVENT_ID,
    audit_fields,
    canonical_hash,
    canonical_pieces,
    consent_fields,
    verify_audit_chain,
    verify_consent_chain,
)
from consentry.store.models import Account, AuditEvent, ConsentEvent
from consentry.store.policies import ensure_builtin_purposes
from consentry.store.schema import upgrade

texts = st.one_of(st.none(), st.text(max_size=20))
"""Any text, quotes, backslashes, control and non-ASCII characters included."""
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(
    account=st.text(max_size=20),
    collaborator=texts,
    external=texts,
    version=texts,
    moment=moments,
    event_id=st.integers(min_value=1, max_value=2**62),
    actor=st.text(max_size=20),
    prev=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_the_pieces_joined_are_the_canonical_payload(
    account: str,
    collaborator: str | None,
    external: str | None,
    version: str | None,
    moment: datetime,
    event_id: int,
    actor: str,
    prev: str,
) -> None:
    fields = consent_fields(
        account_id=account,
        purpose="train_ai_system",
        decision="allow",
        source="api",
        collaborator_id=collaborator,
        external_id=external,
        policy_version=version,
        effective_at=moment,
    )
    before, after = canonical_pieces(fields)
    assert hashlib.sha256((before + prev + after).encode()).hexdigest() == canonical_hash(
        fields, prev
    )
    details = {"event_id": EVENT_ID, "collaborator_id": collaborator, "purpose": account}
    audit = audit_fields(
        actor=actor, action="consent.record", object_type="account", object_id=account, at=moment
    )
    first, middle, last = canonical_pieces({**audit, "details": details})
    joined = first + str(event_id) + middle + prev + last
    filled = {**audit, "details": {**details, "event_id": event_id}}
    assert hashlib.sha256(joined.encode()).hexdigest() == canonical_hash(filled, prev)


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database with three accounts (one statement is PostgreSQL's way
    alone: SQLite's batches take the locking way)."""
    engine = make_engine(postgres_url)
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
        session.add_all(Account(id=f"a{i}", handle=f"h{i}", jurisdiction="DE") for i in range(3))
    yield engine
    engine.dispose()


def _write(account_id: str = "a0", external_id: str | None = None, **kw: str) -> ConsentWrite:
    fields = {"purpose": "train_ai_system", "decision": "allow", "source": "api", **kw}
    return ConsentWrite(account_id=account_id, actor="test", external_id=external_id, **fields)


def _autocommit(engine: Engine) -> Connection:
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _counts(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        events = session.scalar(select(func.count()).select_from(ConsentEvent)) or 0
        audits = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return events, audits


def _chains_verify(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert verify_consent_chain(session).ok
        assert verify_audit_chain(session).ok


@pytest.mark.postgres
def test_a_chains_first_append_takes_the_locking_way(postgres: Engine) -> None:
    before = _counts(postgres)
    with _autocommit(postgres) as conn:
        assert record_consents_at_once(conn, [_write()]) is None  # no head yet
    assert _counts(postgres) == before


@pytest.mark.postgres
def test_the_databases_hashes_are_the_ledgers(postgres: Engine) -> None:
    with session_scope(postgres) as session:
        record_consents(session, [_write(external_id="first")])  # creates the heads
    writes = [
        _write("a1", "x-1", collaborator_id=None),
        _write("a2", 'x "2" \\ é', decision="deny", source="gpc"),
        _write("a0", "\u2028\U0001f600\t", policy_version="v1"),
    ]
    with _autocommit(postgres) as conn:
        recorded = record_consents_at_once(conn, writes)
    assert recorded is not None
    events = [r.event for r in recorded if isinstance(r, Recorded)]
    assert [e.account_id for e in events] == ["a1", "a2", "a0"]
    assert events[1].external_id == 'x "2" \\ é' and events[1].decision == "deny"
    with session_scope(postgres) as session:
        stored = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        assert [(e.id, e.hash, e.account_ordinal) for e in stored[1:]] == [
            (e.id, e.hash, e.account_ordinal) for e in events
        ]
        assert stored[1].prev_hash == stored[0].hash
        audits = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [a.details["event_id"] for a in audits[-3:]] == [e.id for e in events]
        assert all(a.action == "consent.record" and a.actor == "test" for a in audits[-3:])
    _chains_verify(postgres)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "odd",
    [
        _write("nobody"),
        _write(purpose="no_such_purpose"),
        _write(collaborator_id="no-such-collaborator"),
        _write(external_id="first"),  # recorded before
        _write(decision="maybe"),
    ],
    ids=["account", "purpose", "collaborator", "sent-before", "decision"],
)
def test_a_batch_it_cannot_answer_alone_writes_nothing(postgres: Engine, odd: ConsentWrite) -> None:
    with session_scope(postgres) as session:
        record_consents(session, [_write(external_id="first")])
    before = _counts(postgres)
    with _autocommit(postgres) as conn:
        assert record_consents_at_once(conn, [_write("a1"), odd, _write("a2")]) is None
        assert record_consents_at_once(conn, [_write(external_id="e"), _write()]) is not None
        assert record_consents_at_once(conn, [_write(external_id="twice")] * 2) is None
    assert _counts(postgres) == (before[0] + 2, before[1] + 2)
    _chains_verify(postgres)


@pytest.mark.postgres
def test_the_group_commit_answers_each_write_of_such_a_batch(postgres: Engine) -> None:
    group = consent_writes(postgres)
    first = group.run(_write(external_id="first"))
    futures = [
        group.submit(_write("a1", external_id="fresh")),
        group.submit(_write(external_id="first")),  # the same again: its event
        group.submit(_write(external_id="first", decision="deny")),  # other content: refused
        group.submit(_write("nobody")),
        group.submit(_write("a2")),
    ]
    outcomes = [f.exception() or f.result() for f in futures]
    assert isinstance(outcomes[0], Recorded) and outcomes[0].created
    assert isinstance(outcomes[1], Recorded) and not outcomes[1].created
    assert outcomes[1].event.id == first.event.id
    assert isinstance(outcomes[2], Conflict)
    assert isinstance(outcomes[3], NotFound)
    assert isinstance(outcomes[4], Recorded) and outcomes[4].created
    assert _counts(postgres)[0] == 3
    _chains_verify(postgres)
