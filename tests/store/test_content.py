"""Accounts and posts: bulk merges by id, and the single-row writes the service uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select

from consentry.errors import InvalidInput, NotFound
from consentry.store.content import (
    ACCOUNTS_SCHEMA,
    CONSENT_SCHEMA,
    append_consent_events,
    bulk_session,
    load_accounts,
    mark_account_deleted,
    mark_post_deleted,
    upsert_account,
    upsert_post,
)
from consentry.store.db import session_scope
from consentry.store.ledger import verify_consent_chain
from consentry.store.models import Account, AuditEvent, ConsentEvent, Post

T0 = datetime(2024, 11, 20, tzinfo=UTC)


def _accounts(handles: list[str], deleted: list[datetime | None] | None = None) -> pa.Table:
    n = len(handles)
    return pa.table(
        {
            "id": [f"a{i}" for i in range(n)],
            "handle": handles,
            "display_name": [None] * n,
            "jurisdiction": ["DE"] * n,
            "birth_date": pa.nulls(n, pa.date32()),
            "is_minor": pa.nulls(n, pa.bool_()),
            "protected": [False] * n,
            "created_at": [T0] * n,
            "deleted_at": deleted or [None] * n,
        },
        schema=ACCOUNTS_SCHEMA,
    )


def _audit(engine: Engine) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.object_id).order_by(AuditEvent.id)
        )
        return [tuple(r) for r in rows]


def test_a_bulk_merge_counts_inserted_updated_and_unchanged(engine: Engine) -> None:
    everything = list(ACCOUNTS_SCHEMA.names)
    with bulk_session(engine) as session:
        first = load_accounts(session, _accounts(["ada", "bob"]), everything)
    with bulk_session(engine) as session:
        second = load_accounts(session, _accounts(["ada", "bobby", "cy"]), everything)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (1, 1, 1)
    with session_scope(engine) as session:
        assert [a.handle for a in session.scalars(select(Account).order_by(Account.id))] == [
            "ada",
            "bobby",
            "cy",
        ]


def test_a_deletion_time_once_recorded_is_kept(engine: Engine) -> None:
    columns = ["handle", "deleted_at"]
    with bulk_session(engine) as session:
        load_accounts(session, _accounts(["ada"], [T0]), columns)
    with bulk_session(engine) as session:
        counts = load_accounts(session, _accounts(["ada"], [None]), columns)
        later = load_accounts(session, _accounts(["ada"], [T0 + timedelta(days=1)]), columns)
    assert counts.unchanged == 1 and later.unchanged == 1
    with session_scope(engine) as session:
        assert session.get(Account, "a0").deleted_at == T0


def test_a_failed_bulk_load_writes_nothing_and_leaves_no_scratch_attached(engine: Engine) -> None:
    with pytest.raises(RuntimeError), bulk_session(engine) as session:
        load_accounts(session, _accounts(["ada"]), ["handle"])
        raise RuntimeError("something after the load failed")
    with session_scope(engine) as session:
        assert session.scalars(select(Account)).all() == []
        if engine.dialect.name == "sqlite":
            names = [row[1] for row in session.connection().exec_driver_sql("PRAGMA database_list")]
            assert not [name for name in names if name.startswith("stage")]


def test_bulk_consent_events_extend_the_chain_after_single_appends(engine: Engine) -> None:
    upsert_fields = {"id": "a1", "handle": "ada", "jurisdiction": "DE"}
    with session_scope(engine) as session:
        upsert_account(session, actor="test", **upsert_fields)
    events = pa.table(
        {
            "external_id": ["x2", "x1"],
            "account_id": ["a1", "a1"],
            "purpose": ["train_ai_system"] * 2,
            "collaborator_id": [None, None],
            "decision": ["allow", "deny"],
            "source": ["settings", "api"],
            "policy_version": [None, "v2"],
            "effective_at": [T0, T0],
            "recorded_at": [T0 + timedelta(hours=2), T0 + timedelta(hours=1)],
        },
        schema=CONSENT_SCHEMA,
    )
    for _ in range(2):
        with bulk_session(engine) as session:
            counts = append_consent_events(session, events)
    assert (counts.inserted, counts.unchanged) == (0, 2)
    with session_scope(engine) as session:
        order = session.scalars(select(ConsentEvent.external_id).order_by(ConsentEvent.id))
        assert list(order) == ["x1", "x2"]
        assert verify_consent_chain(session).ok


def test_upsert_account_creates_then_updates_only_the_given_fields(engine: Engine) -> None:
    with session_scope(engine) as session:
        upsert_account(
            session, actor="api", id="a1", handle="ada", jurisdiction="us-ca", display_name="Ada"
        )
        upsert_account(session, actor="api", id="a1", handle="ada_l")
        upsert_account(session, actor="api", id="a1", handle="ada_l")  # no change, no event
        ada = session.get(Account, "a1")
        assert (ada.handle, ada.display_name, ada.jurisdiction) == ("ada_l", "Ada", "US-CA")
    assert _audit(engine) == [("account.create", "a1"), ("account.update", "a1")]


def test_single_rows_are_checked(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(InvalidInput, match="is required") as caught:
            upsert_account(session, id="a1", handle="ada")
        assert caught.value.field == "jurisdiction"
        with pytest.raises(InvalidInput, match="not an ISO 3166"):
            upsert_account(session, id="a1", handle="ada", jurisdiction="EU")
        upsert_account(session, id="a1", handle="ada", jurisdiction="DE")
        with pytest.raises(NotFound):
            upsert_post(session, id="p1", account_id="ghost", created_at=T0)
        with pytest.raises(InvalidInput, match="no time zone"):
            upsert_post(session, id="p1", account_id="a1", created_at=datetime(2024, 1, 1))
        with pytest.raises(InvalidInput, match="not one of public, protected, direct"):
            upsert_post(session, id="p1", account_id="a1", created_at=T0, visibility="friends")
        with pytest.raises(InvalidInput, match="unknown field"):
            upsert_post(session, id="p1", account_id="a1", created_at=T0, likes=3)


def test_deleting_keeps_the_first_deletion_time_and_is_audited(engine: Engine) -> None:
    later = datetime(2024, 12, 1, 10, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as session:
        upsert_account(session, id="a1", handle="ada", jurisdiction="DE")
        upsert_post(session, id="p1", account_id="a1", created_at=T0, text="hi")
        mark_post_deleted(session, "p1", T0 + timedelta(days=1), actor="api")
        mark_post_deleted(session, "p1", later, actor="api")
        mark_account_deleted(session, "a1", later, actor="api")
        upsert_post(session, id="p1", deleted_at=None)
        with pytest.raises(NotFound):
            mark_post_deleted(session, "p2", T0)
    with session_scope(engine) as session:
        assert session.get(Post, "p1").deleted_at == T0 + timedelta(days=1)
        assert session.get(Account, "a1").deleted_at == datetime(2024, 12, 1, 8, tzinfo=UTC)
    assert _audit(engine)[-2:] == [("post.delete", "p1"), ("account.delete", "a1")]
