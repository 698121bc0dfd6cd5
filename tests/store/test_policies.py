"""Policy versions say which purposes they cover; defaults are optional (a covered purpose with
no default is opt_in), and each version states its notice period for new collaborators."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.store.db import session_scope
from consentry.store.policies import draft_policy, list_policies, policy_facts, publish_policy


def test_a_version_with_purposes_and_no_defaults_is_in_force_with_empty_defaults(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        draft_policy(
            session,
            version="v1",
            summary="AI training only with a yes.",
            purposes=["train_ai_system"],
            defaults={},
            notice_days=30,
            actor="test",
        )
        publish_policy(
            session,
            version="v1",
            effective_at=datetime(2024, 11, 1, tzinfo=UTC),
            published_at=datetime(2024, 10, 1, tzinfo=UTC),
            actor="test",
        )
    with session_scope(engine) as session:
        [fact] = policy_facts(session)
    assert (fact.version, fact.purposes, fact.defaults) == (
        "v1",
        frozenset({"train_ai_system"}),
        {},
    )
    assert fact.notice_days == 30


def test_a_version_covering_nothing_or_with_negative_notice_is_refused(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(InvalidInput, match="must say which purposes it covers") as nothing:
            draft_policy(session, version="v1", summary="s", defaults={}, actor="test")
        assert nothing.value.field == "purposes"
        with pytest.raises(InvalidInput, match="0 or more days") as negative:
            draft_policy(
                session,
                version="v1",
                summary="s",
                defaults={},
                purposes=["train_ai_system"],
                notice_days=-1,
                actor="test",
            )
        assert negative.value.field == "notice_days"
        assert list_policies(session) == []
