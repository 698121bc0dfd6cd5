"""Every account has an ordinal of its own, and every consent event carries its account's.

The consent snapshot finds an event's account by that number (``domain.consent_snapshot``), so
a wrong or repeated one would judge a user by another's choices. Checked on both databases: for
a database migrated with data in it, and for every way an account or an event is written.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest
from alembic import command
from sqlalchemy import Engine, insert, text

from consentry.store.consent import ConsentWrite, record_consents
from consentry.store.content import (
    ACCOUNTS_SCHEMA,
    CONSENT_SCHEMA,
    append_consent_events,
    load_accounts,
    upsert_account,
)
from consentry.store.db import make_engine, session_scope
from consentry.store.models import Account
from consentry.store.policies import ensure_builtin_purposes
from consentry.store.schema import alembic_config, upgrade

T = datetime(2026, 1, 5, tzinfo=UTC)


def _mismatched_events(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT e.id, e.account_id, e.account_ordinal, a.ordinal FROM consent_events e "
                "JOIN accounts a ON a.id = e.account_id "
                "WHERE e.account_ordinal IS NULL OR e.account_ordinal <> a.ordinal"
            )
        ).all()


def _ordinals(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, ordinal FROM accounts")).all())


def test_a_database_migrated_with_data_numbers_its_accounts_and_events(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    config = alembic_config(database_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(text("INSERT INTO purposes (key, name, description) VALUES ('p', 'p', '')"))
        for name in ("zed", "amy", "kim"):
            conn.execute(
                text(
                    "INSERT INTO accounts (id, handle, jurisdiction, protected) "
                    "VALUES (:id, :id, 'DE', false)"
                ),
                {"id": name},
            )
        for i, name in enumerate(["kim", "zed", "kim", "amy"]):
            conn.execute(
                text(
                    "INSERT INTO consent_events (account_id, purpose, decision, source, "
                    "effective_at, recorded_at, prev_hash, hash) "
                    "VALUES (:a, 'p', 'allow', 'settings', :t, :t, :h, :h)"
                ),
                {"a": name, "t": T, "h": f"{i:064d}"},
            )
    upgrade(engine)
    ordinals = _ordinals(engine)
    assert sorted(ordinals) == ["amy", "kim", "zed"]
    assert len(set(ordinals.values())) == 3 and None not in ordinals.values()
    assert _mismatched_events(engine) == []
    if engine.dialect.name == "postgresql":  # the ledger is append-only again
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE consent_events SET decision = 'deny'"))
    engine.dispose()


def test_every_way_of_writing_accounts_and_events_numbers_them(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
        upsert_account(session, id="one", handle="one", jurisdiction="DE")
        upsert_account(session, id="two", handle="two", jurisdiction="FR")
        session.execute(
            insert(Account),
            [{"id": f"orm{i}", "handle": f"orm{i}", "jurisdiction": "US"} for i in range(3)],
        )
    with session_scope(engine) as session:
        bulk = pa.table({"id": ["b1", "b2", "one"], "handle": ["b1", "b2", "uno"]})
        load_accounts(session, _with_schema_of_accounts(bulk))
    before = _ordinals(engine)
    assert len(before) == 7 and len(set(before.values())) == 7
    with session_scope(engine) as session:
        upsert_account(session, id="one", handle="one again")  # an update keeps the number
        recorded = record_consents(
            session,
            [
                ConsentWrite("b2", "train_ai_system", "deny", "settings", actor="t"),
                ConsentWrite("orm1", "train_ai_system", "allow", "settings", actor="t"),
            ],
        )
        assert all(not isinstance(r, Exception) for r in recorded)
        imported = pa.Table.from_pylist(
            [
                {
                    "external_id": "x1",
                    "account_id": "two",
                    "purpose": "train_ai_system",
                    "decision": "deny",
                    "source": "import",
                    "effective_at": T,
                },
                {
                    "external_id": "x2",
                    "account_id": "orm2",
                    "purpose": "train_ai_system",
                    "decision": "allow",
                    "source": "import",
                    "effective_at": T,
                },
            ],
            schema=CONSENT_SCHEMA,
        )
        append_consent_events(session, imported)
    assert _ordinals(engine) == before
    assert _mismatched_events(engine) == []
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM consent_events")) == 4


def _with_schema_of_accounts(table: pa.Table) -> pa.Table:
    columns = {
        f.name: table[f.name] if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in ACCOUNTS_SCHEMA
    }
    columns["jurisdiction"] = pa.array(["DE"] * len(table))
    return pa.table(columns, schema=ACCOUNTS_SCHEMA)
