"""Concurrent consent writes share commits, and the chain stays whole (SQLite and PostgreSQL).

Two ``GroupCommit``s on two engines stand for two server processes contending for the chains'
heads; eight threads write through them at once, as eight clients of the service do. On
PostgreSQL a batch is one statement (``record_consents_at_once``) unless it needs the locking
way; both are exercised, and two real processes write at once too.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import Engine, event, func, select

from consentry.errors import NotFound
from consentry.store.consent import ConsentWrite, Recorded, consent_writes
from consentry.store.db import make_engine, session_scope
from consentry.store.group_commit import GroupCommit
from consentry.store.ledger import verify_audit_chain, verify_consent_chain
from consentry.store.models import Account, AuditEvent, ConsentEvent

WRITERS = 8
PER_WRITER = 40


def _accounts(engine: Engine, n: int) -> None:
    with session_scope(engine) as session:
        session.add_all(Account(id=f"a{i}", handle=f"h{i}", jurisdiction="DE") for i in range(n))


def _write(account_id: str, external_id: str) -> ConsentWrite:
    return ConsentWrite(
        account_id=account_id,
        purpose="train_ai_system",
        decision="allow",
        source="api",
        actor="test",
        external_id=external_id,
    )


def _group(engine: Engine) -> GroupCommit[ConsentWrite, Recorded]:
    return consent_writes(engine)


def test_concurrent_writers_share_commits_and_keep_the_chain_whole(engine: Engine) -> None:
    _accounts(engine, WRITERS)
    second = make_engine(str(engine.url.render_as_string(hide_password=False)))
    groups = [_group(engine), _group(second)]
    commits: Counter[str] = Counter()
    for db in (engine, second):
        event.listen(db, "commit", lambda _conn: commits.update(["commit"]))
    acknowledged: list[str] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        for i in range(PER_WRITER):
            external_id = f"w{n}-{i}"
            try:
                groups[n % 2].run(_write(f"a{n}", external_id))
            except Exception as exc:  # collected, and the test fails on them below
                errors.append(exc)
            else:
                acknowledged.append(external_id)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    second.dispose()

    assert errors == []
    with session_scope(engine) as session:
        stored = set(session.scalars(select(ConsentEvent.external_id)))
        assert stored == set(acknowledged)
        assert len(acknowledged) == WRITERS * PER_WRITER
        assert verify_consent_chain(session).ok
        assert verify_audit_chain(session).ok
        # each writer's own events are in the order it sent them (ledger order = arrival)
        for n in range(WRITERS):
            mine = session.scalars(
                select(ConsentEvent.external_id)
                .where(ConsentEvent.account_id == f"a{n}")
                .order_by(ConsentEvent.id)
            ).all()
            assert mine == [f"w{n}-{i}" for i in range(PER_WRITER)]
    assert commits["commit"] < WRITERS * PER_WRITER  # writes were grouped


def test_a_failing_write_undoes_itself_alone(engine: Engine) -> None:
    _accounts(engine, 1)
    group = _group(engine)
    results: dict[str, object] = {}
    ready = threading.Barrier(6)

    def writer(name: str, account_id: str) -> None:
        ready.wait()
        try:
            results[name] = group.run(_write(account_id, name))
        except NotFound as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=writer, args=(f"e{i}", "a0" if i % 2 else "nobody"))
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    refused = sorted(k for k, v in results.items() if isinstance(v, NotFound))
    assert refused == ["e0", "e2", "e4"]
    with session_scope(engine) as session:
        assert sorted(session.scalars(select(ConsentEvent.external_id))) == ["e1", "e3", "e5"]
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 3
        assert verify_consent_chain(session).ok
        assert verify_audit_chain(session).ok


@pytest.mark.parametrize("size", [1, 3])
def test_a_write_returns_its_own_result(engine: Engine, size: int) -> None:
    _accounts(engine, 1)
    group = _group(engine)
    ids = [group.run(_write("a0", f"x{i}")).event.id for i in range(size)]
    with session_scope(engine) as session:
        stored = session.scalars(select(ConsentEvent.id).order_by(ConsentEvent.id)).all()
    assert ids == stored


def _process_writes(url: str, process: int, threads: int, per_thread: int) -> list[str]:
    """A server process's writes: ``threads`` clients through one group commit; the external
    ids acknowledged (in a process of its own, spawned)."""
    from consentry.store.db import make_engine

    engine = make_engine(url)
    group = consent_writes(engine)
    acknowledged: list[str] = []

    def writer(n: int) -> None:
        for i in range(per_thread):
            external_id = f"p{process}-w{n}-{i}"
            group.run(_write(f"a{(process * threads + n) % WRITERS}", external_id))
            acknowledged.append(external_id)

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    engine.dispose()
    return acknowledged


def test_two_processes_writing_at_once_lose_nothing_and_keep_the_chain_whole(
    engine: Engine,
) -> None:
    _accounts(engine, WRITERS)
    group = _group(engine)
    group.run(_write("a0", "first"))  # the heads exist: PostgreSQL's batches are one statement
    url = engine.url.render_as_string(hide_password=False)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        runs = [pool.submit(_process_writes, url, p, WRITERS // 2, PER_WRITER) for p in (0, 1)]
        acknowledged = [external_id for run in runs for external_id in run.result(timeout=300)]

    assert len(acknowledged) == WRITERS * PER_WRITER
    with session_scope(engine) as session:
        stored = session.scalars(select(ConsentEvent.external_id).order_by(ConsentEvent.id)).all()
        assert sorted(stored) == sorted([*acknowledged, "first"])
        for prefix in {external_id.rsplit("-", 1)[0] for external_id in acknowledged}:
            mine = [e for e in stored if e.startswith(f"{prefix}-")]
            assert mine == [f"{prefix}-{i}" for i in range(PER_WRITER)]
        assert verify_consent_chain(session).ok
        assert verify_audit_chain(session).ok
        recorded = AuditEvent.action == "consent.record"
        audited = session.scalar(select(func.count()).select_from(AuditEvent).where(recorded))
        assert audited == len(stored)  # every consent change is audited
