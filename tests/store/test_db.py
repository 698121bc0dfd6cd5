"""``id_list_in``: one parameter for any number of ids, answered from the index (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from consentry.store.db import id_list_in, session_scope
from consentry.store.models import Account


@pytest.fixture
def accounts(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        session.add_all(
            Account(id=f"a{i}", handle=f"h{i}", jurisdiction="DE") for i in range(2_000)
        )
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE accounts"))  # as autovacuum would have
            conn.commit()
    return engine


@pytest.mark.parametrize("asked", [1, 1_500])
def test_ids_are_found_from_the_index_however_many(accounts: Engine, asked: int) -> None:
    ids = [f"a{i}" for i in range(asked)] + ['x"\\,{}\x01']  # quoting never breaks the list
    with accounts.connect() as conn:
        within, params = id_list_in(conn, ids)
        sql = f"SELECT id FROM accounts WHERE id {within}"
        found = conn.execute(text(sql), params).scalars().all()
        explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        plan = " ".join(str(r) for r in conn.execute(text(explain + sql), params))
    assert sorted(found) == sorted(ids[:-1])
    if asked == 1:  # the whole table is never scanned for a few ids
        assert "SCAN accounts" not in plan and "Seq Scan" not in plan, plan
