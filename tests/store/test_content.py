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
    with bulk_session(engine) as session:
        first = load_accounts(session, _accounts(["ada", "bob"]))
    with bulk_session(engine) as session:
        second = load_accounts(session, _accounts(["ada", "bobby", "cy"]))
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (1, 1, 1)
    with session_scope(engine) as session:
        assert [a.handle for a in session.scalars(select(Account).order_by(Account.id))] == [
            "ada",
            "bobby",
            "cy",
        ]


def test_a_deletion_takes_effect_at_the_earliest_time_sent(engine: Engine) -> None:
    with bulk_session(engine) as session:
        load_accounts(session, _accounts(["ada"], [T0]))
    with bulk_session(engine) as session:
        counts = load_accounts(session, _accounts(["ada"], [None]))
        later = load_accounts(session, _accounts(["ada"], [T0 + timedelta(days=1)]))
        earlier = load_accounts(session, _accounts(["ada"], [T0 - timedelta(days=1)]))
    assert counts.unchanged == 1 and later.unchanged == 1 and earlier.updated == 1
    with session_scope(engine) as session:
        assert session.get(Account, "a0").deleted_at == T0 - timedelta(days=1)


def test_a_bulk_update_keeps_what_it_leaves_null_and_a_new_row_gets_the_defaults(
    engine: Engine,
) -> None:
    with bulk_session(engine) as session:
        load_accounts(session, _accounts(["ada"]).set_column(6, "protected", pa.array([True])))
    blank = pa.table(
        {name: pa.nulls(2, ACCOUNTS_SCHEMA.field(name).type) for name in ACCOUNTS_SCHEMA.names},
        schema=ACCOUNTS_SCHEMA,
    )
    blank = blank.set_column(0, "id", pa.array(["a0", "a9"]))
    blank = blank.set_column(1, "handle", pa.array([None, "new"]))
    blank = blank.set_column(3, "jurisdiction", pa.array([None, "FR"]))
    with bulk_session(engine) as session:
        counts = load_accounts(session, blank)
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 0, 1)
    with session_scope(engine) as session:
        ada, new = session.get(Account, "a0"), session.get(Account, "a9")
        assert (ada.handle, ada.jurisdiction, ada.protected, ada.created_at) == (
            "ada",
            "DE",
            True,
            T0,
        )
        assert (new.handle, new.protected) == ("new", False)


def test_a_failed_bulk_load_writes_nothing_and_leaves_no_scratch_attached(engine: Engine) -> None:
    with pytest.raises(RuntimeError), bulk_session(engine) as session:
        load_accounts(session, _accounts(["ada"]))
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
            "sequence": [None, None],
        },
        schema=CONSENT_SCHEMA,
    )
    for _ in range(2):
        with bulk_session(engine) as session:
            counts = append_consent_events(session, events)
    assert (counts.inserted, counts.unchanged) == (0, 2)
    with session_scope(engine) as session:
        order = session.scalars(select(ConsentEvent.external_id).order_by(ConsentEvent.id))
        assert list(order) == ["x2", "x1"]  # as sent, not by recorded_at
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


def test_a_deletion_can_be_brought_forward_never_back_and_is_audited(engine: Engine) -> None:
    later = datetime(2024, 12, 1, 10, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as session:
        upsert_account(session, id="a1", handle="ada", jurisdiction="DE")
        upsert_post(session, id="p1", account_id="a1", created_at=T0, text="hi")
        mark_post_deleted(session, "p1", T0 + timedelta(days=1), actor="api")
        mark_post_deleted(session, "p1", later, actor="api")
        mark_post_deleted(session, "p1", T0 + timedelta(hours=1), actor="api")
        mark_account_deleted(session, "a1", later, actor="api")
        upsert_post(session, id="p1", deleted_at=None)
        with pytest.raises(NotFound):
            mark_post_deleted(session, "p2", T0)
    with session_scope(engine) as session:
        assert session.get(Post, "p1").deleted_at == T0 + timedelta(hours=1)
        assert session.get(Account, "a1").deleted_at == datetime(2024, 12, 1, 8, tzinfo=UTC)
    assert _audit(engine)[-3:] == [
        ("post.delete", "p1"),
        ("post.delete", "p1"),
        ("account.delete", "a1"),
    ]


def test_a_deletion_dated_in_the_future_is_refused_beyond_the_clock_skew(engine: Engine) -> None:
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        upsert_account(session, id="a1", handle="ada", jurisdiction="DE")
        with pytest.raises(InvalidInput, match="is in the future") as caught:
            mark_account_deleted(session, "a1", now + timedelta(days=30))
        assert caught.value.field == "deleted_at"
        with pytest.raises(InvalidInput, match="is in the future"):
            upsert_account(session, id="a1", deleted_at=now + timedelta(hours=1))
        mark_account_deleted(session, "a1", now + timedelta(minutes=2))  # clock skew
        assert session.get(Account, "a1").deleted_at is not None


def test_a_null_in_a_single_write_keeps_the_stored_value_and_never_blank_fields_refuse_it(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        upsert_account(session, id="a1", handle="ada", jurisdiction="DE", protected=True)
        upsert_account(session, id="a1", is_minor=True)
        upsert_post(session, id="p1", account_id="a1", created_at=T0, visibility="direct")
        upsert_account(session, id="a1", is_minor=None, birth_date=None, handle="ada2")
        upsert_post(session, id="p1", text=None, lang=None)
        for call, name in [
            (lambda: upsert_account(session, id="a1", protected=None), "protected"),
            (lambda: upsert_post(session, id="p1", visibility=None), "visibility"),
        ]:
            with pytest.raises(InvalidInput, match="may not be null") as caught:
                call()
            assert caught.value.field == name
        ada, post = session.get(Account, "a1"), session.get(Post, "p1")
        assert (ada.handle, ada.protected, ada.is_minor) == ("ada2", True, True)
        assert (post.visibility, post.text, post.kind) == ("direct", "", "post")


def test_a_post_kind_needs_its_original_for_reposts_and_quotes_only(engine: Engine) -> None:
    with session_scope(engine) as session:
        upsert_account(session, id="a1", handle="ada", jurisdiction="DE")
        reply = upsert_post(session, id="p2", account_id="a1", created_at=T0, reply_to="p1")
        quote = upsert_post(
            session, id="p3", account_id="a1", created_at=T0, kind="quote", original_id="p1"
        )
        assert (reply.kind, quote.kind, quote.original_id) == ("reply", "quote", "p1")
        for fields, name in [
            ({"kind": "repost"}, "original_id"),
            ({"kind": "post", "original_id": "p1"}, "original_id"),
            ({"original_id": "p1"}, "original_id"),
            ({"kind": "boost", "original_id": "p1"}, "kind"),
        ]:
            with pytest.raises(InvalidInput) as caught:
                upsert_post(session, id="p4", account_id="a1", created_at=T0, **fields)
            assert caught.value.field == name
        upsert_post(session, id="p3", kind="post")
        assert (quote.kind, quote.original_id) == ("post", None)
