"""Loading the synthetic platform: policies, collaborators and every row, once, on both DBs."""

from __future__ import annotations

from datetime import datetime

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from consentry.demo.load import load
from consentry.demo.scenario import V2_EFFECTIVE, V2_PUBLISHED
from consentry.demo.synthetic import DemoFiles, generate
from consentry.domain import consent_bulk
from consentry.store.consent import now
from consentry.store.db import session_scope
from consentry.store.ledger import verify_audit_chain, verify_consent_chain
from consentry.store.models import Account, Collaborator, ConsentEvent, Post
from consentry.store.parties import get_collaborator
from consentry.store.policies import defaults_of, get_policy
from consentry.store.snapshot import consent_inputs


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate(tmp_path_factory.mktemp("demo"), accounts=600, posts=4_000, seed=11)


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {
            name: session.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("accounts", Account),
                ("posts", Post),
                ("consent", ConsentEvent),
                ("collaborators", Collaborator),
            )
        }


def test_loading_brings_policies_collaborators_and_every_row(
    engine: Engine, files: DemoFiles
) -> None:
    report = load(engine, files, actor="test")

    assert report.policies_added == ["v1", "v2"]
    assert report.collaborators_added == ["northwind-ai", "lumen-labs"]
    assert _counts(engine) == {**files.counts, "collaborators": 2}
    with session_scope(engine) as session:
        v2 = get_policy(session, "v2")
        assert (v2.status, v2.published_at, v2.effective_at) == (
            "published",
            V2_PUBLISHED,
            V2_EFFECTIVE,
        )
        assert defaults_of(session, v2)["train_ai_system"]["US"] == "opt_out"
        assert defaults_of(session, v2)["train_ai_system"]["EU"] == "opt_in"
        assert get_policy(session, "v1").purposes == ["personalize"]
        assert get_collaborator(session, "lumen-labs").country == "US"
        assert verify_consent_chain(session).ok
        assert verify_consent_chain(session).checked == files.counts["consent"]
        assert verify_audit_chain(session).ok


def test_loading_twice_adds_nothing(engine: Engine, files: DemoFiles) -> None:
    load(engine, files, actor="test")
    before = _counts(engine)
    again = load(engine, files, actor="test")
    assert again.policies_added == [] and again.collaborators_added == []
    assert _counts(engine) == before
    with session_scope(engine) as session:
        assert verify_consent_chain(session).ok


def test_after_v2_us_accounts_share_by_default_and_eu_accounts_need_a_yes(
    sqlite_engine: Engine, files: DemoFiles
) -> None:
    load(sqlite_engine, files, actor="test")
    inputs = consent_inputs(sqlite_engine, purpose="train_ai_system")

    def state(at: datetime) -> dict[str, dict]:
        snapshot = inputs.master_snapshot(purpose="train_ai_system", cutoff=at, as_of=now())
        return {r["jurisdiction"]: r for r in consent_bulk.summarize(snapshot).to_pylist()}

    before, after = state(V2_PUBLISHED), state(V2_EFFECTIVE)
    assert all(r["no_policy"] == r["accounts"] - r["never_shared"] for r in before.values())
    assert after["US-CA"]["allowed_by_default"] > 0 and after["US-CA"]["denied"] > 0
    assert after["DE"]["no_consent"] > 0 and after["DE"]["allowed_by_default"] == 0
    assert after["GB"]["allowed_explicit"] > 0
    assert sum(r["never_shared"] for r in after.values()) > 0


def test_loaded_posts_keep_their_text_and_replies(sqlite_engine: Engine, files: DemoFiles) -> None:
    load(sqlite_engine, files, actor="test")
    table = pq.read_table(files.posts)
    reply = table.filter(pc.is_valid(table.column("reply_to"))).slice(0, 1).to_pylist()[0]
    with session_scope(sqlite_engine) as session:
        stored = session.get(Post, reply["id"])
        assert stored is not None
        assert (stored.text, stored.reply_to, stored.created_at) == (
            reply["text"],
            reply["reply_to"],
            reply["created_at"],
        )
        assert session.get(Post, reply["reply_to"]) is not None
