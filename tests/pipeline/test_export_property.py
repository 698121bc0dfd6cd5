"""The whole export path gives every post the one-at-a-time rule's verdict, on any platform.

Hypothesis draws small platforms (accounts, posts of every kind, quotes of each other, a random
ledger, policies with notice periods, a collaborator listed at a random time, a license of random
scope and a cut-off), loads them into a real database (SQLite and PostgreSQL), runs
``run_export`` and compares what was delivered, each exclusion reason, each consent basis and
each quote's quoted part with ``domain.consent.evaluate``. This reaches what the bulk property
test cannot: the snapshot read from the store, the composed per-batch SQL and the shards.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, insert, text

from consentry.domain.consent import evaluate
from consentry.domain.types import (
    AccountFacts,
    CollaboratorFacts,
    ConsentEventFacts,
    ConsentSource,
    Decision,
    DefaultRule,
    LicenseFacts,
    PolicyFacts,
    PostFacts,
    PostKind,
    Verdict,
    Visibility,
)
from consentry.pipeline.export import run_export
from consentry.pipeline.transform import QUOTED_PLACEHOLDER
from consentry.settings import Settings
from consentry.store.db import make_engine, session_scope
from consentry.store.ledger import append_consent_event
from consentry.store.models import Account, Delivery, License, Post
from consentry.store.parties import add_collaborator, add_license, license_facts
from consentry.store.policies import draft_policy, ensure_builtin_purposes, publish_policy
from consentry.store.schema import upgrade
from databases import POSTGRES_URL, postgres_schema_url, require_postgres

U = "train_ai_system"
C = "collab"
EPOCH = datetime(2025, 3, 1, tzinfo=UTC)
GRID = [EPOCH + timedelta(days=d) for d in (-20, -10, 0, 10, 20, 30)]
JURISDICTIONS = ["US-CA", "US-TX", "DE", "GB", "JP"]
NO_TRANSFORMS = {"redact": False, "pseudonymize": False, "coarsen_timestamps": "none"}


@dataclass(frozen=True)
class World:
    accounts: list[AccountFacts]
    posts: list[PostFacts]
    events: list[ConsentEventFacts]
    """In ledger order; ids are assigned by the store when loaded."""
    policies: list[PolicyFacts]
    listed_at: datetime
    scope: dict
    cutoff: datetime


@st.composite
def worlds(draw: st.DrawFn) -> World:
    moments = st.sampled_from(GRID)
    cutoff = draw(st.sampled_from(GRID[2:]))
    policies = [
        PolicyFacts(
            version=f"v{k}",
            published_at=(published := draw(moments)),
            effective_at=published + timedelta(days=draw(st.sampled_from([0, 5, 10]))),
            purposes=frozenset({U}),
            defaults=draw(
                st.dictionaries(
                    st.sampled_from(["US", "US-CA", "EU", "GB", "*"]),
                    st.sampled_from([*DefaultRule, DefaultRule.OPT_OUT]),
                    min_size=1,
                    max_size=3,
                )
            ),
            notice_days=draw(st.sampled_from([0, 0, 15])),
        )
        for k in range(1, draw(st.integers(0, 2)) + 1)
    ]
    accounts = [
        AccountFacts(
            id=f"a{i}",
            jurisdiction=draw(st.sampled_from(JURISDICTIONS)),
            protected=draw(st.sampled_from([False] * 9 + [True])),
            birth_date=draw(st.sampled_from([date(1990, 1, 1)] * 5 + [date(2010, 1, 1)])),
            deleted_at=draw(st.sampled_from([None] * 7 + GRID[:3])),
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    posts: list[PostFacts] = []
    for account in accounts:
        for j in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from([PostKind.POST, PostKind.POST, *PostKind]))
            earlier = [p.id for p in posts]
            original = draw(st.sampled_from(earlier)) if earlier else None
            if kind in (PostKind.REPOST, PostKind.QUOTE) and original is None:
                kind = PostKind.POST
            posts.append(
                PostFacts(
                    id=f"{account.id}-p{j}",
                    account_id=account.id,
                    created_at=draw(moments),
                    visibility=draw(st.sampled_from([Visibility.PUBLIC] * 5 + list(Visibility))),
                    lang=draw(st.sampled_from(["en", "en", "de"])),
                    reply_to="elsewhere" if kind == PostKind.REPLY else None,
                    deleted_at=draw(st.sampled_from([None] * 7 + GRID[:4])),
                    kind=kind,
                    original_id=original if kind in (PostKind.REPOST, PostKind.QUOTE) else None,
                )
            )
    events = [
        ConsentEventFacts(
            id=0,
            account_id=draw(st.sampled_from([a.id for a in accounts])),
            purpose=U,
            collaborator_id=draw(st.sampled_from([None, None, C])),
            decision=draw(st.sampled_from(Decision)),
            effective_at=draw(moments),
            recorded_at=EPOCH,
            source=ConsentSource.SETTINGS,
        )
        for _ in range(draw(st.sampled_from([0, 1, 3, 6])))
    ]
    scope: dict = {
        "kinds": sorted(draw(st.sets(st.sampled_from([k.value for k in PostKind]), min_size=1))),
        "public_only": draw(st.booleans()),
        "include_pre_policy_posts": draw(st.booleans()),
    }
    if draw(st.booleans()):
        scope["languages"] = ["en"]
    return World(accounts, posts, events, policies, draw(moments), scope, cutoff)


def load(engine: Engine, world: World) -> list[ConsentEventFacts]:
    """The world in the store; returns the events with the ledger ids they got."""
    stored = []
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
        session.execute(
            insert(Account),
            [
                {
                    "id": a.id,
                    "handle": a.id,
                    "jurisdiction": a.jurisdiction,
                    "protected": a.protected,
                    "birth_date": a.birth_date,
                    "deleted_at": a.deleted_at,
                }
                for a in world.accounts
            ],
        )
        session.execute(
            insert(Post),
            [
                {
                    "id": p.id,
                    "account_id": p.account_id,
                    "created_at": p.created_at,
                    "text": f"words of {p.id}",
                    "lang": p.lang,
                    "visibility": p.visibility.value,
                    "reply_to": p.reply_to,
                    "deleted_at": p.deleted_at,
                    "kind": p.kind.value,
                    "original_id": p.original_id,
                    "like_count": 0,
                    "repost_count": 0,
                    "reply_count": 0,
                }
                for p in world.posts
            ],
        )
        for policy in world.policies:
            draft_policy(
                session,
                version=policy.version,
                summary="",
                defaults={U: {k: v.value for k, v in policy.defaults.items()}},
                actor="test",
            ).notice_days = policy.notice_days
            publish_policy(
                session,
                version=policy.version,
                effective_at=policy.effective_at,
                published_at=policy.published_at,
                actor="test",
            )
        add_collaborator(
            session, id=C, name="Collab", country="GB", listed_at=world.listed_at, actor="test"
        )
        for e in world.events:
            row = append_consent_event(
                session,
                account_id=e.account_id,
                purpose=U,
                decision=e.decision,
                source=e.source,
                effective_at=e.effective_at,
                collaborator_id=e.collaborator_id,
                recorded_at=e.recorded_at,
            )
            stored.append(replace(e, id=row.id))
        add_license(
            session,
            id="lic",
            collaborator_id=C,
            purpose=U,
            scope=world.scope,
            term_start=GRID[0],
            fields=["post_id", "account_id", "created_at", "lang", "text", "kind", "quoted"],
            transforms=NO_TRANSFORMS,
            actor="test",
        )
    return stored


def expected_outcome(
    world: World, events: list[ConsentEventFacts], license: LicenseFacts, as_of: datetime
) -> tuple[dict[str, tuple[str | None, str]], Counter[str]]:
    """By delivered post id: (quoted text, basis); and the exclusion counts."""
    accounts = {a.id: a for a in world.accounts}
    collaborator = CollaboratorFacts(C, world.listed_at)

    def verdict(post: PostFacts) -> Verdict:
        return evaluate(
            post,
            accounts[post.account_id],
            events,
            world.policies,
            license,
            collaborator=collaborator,
            cutoff=world.cutoff,
            as_of=as_of,
        )

    by_id = {p.id: p for p in world.posts}
    delivered: dict[str, tuple[str | None, str]] = {}
    excluded: Counter[str] = Counter()
    for post in world.posts:
        if post.created_at > world.cutoff:
            continue  # not scanned: it did not exist at the cut-off
        v = verdict(post)
        if not v.allowed:
            assert v.reason is not None
            excluded[v.reason.value] += 1
            continue
        quoted = None
        if post.kind == PostKind.QUOTE:
            assert post.original_id is not None
            original = by_id[post.original_id]
            shown = original.created_at <= world.cutoff and verdict(original).allowed
            quoted = f"words of {original.id}" if shown else QUOTED_PLACEHOLDER
        delivered[post.id] = (quoted, v.basis.describe())
    return delivered, excluded


def check_export(engine: Engine, world: World, tmp_path: Path) -> None:
    events = load(engine, world)
    out = tmp_path / uuid.uuid4().hex
    result = run_export(
        engine,
        Settings(home=tmp_path / "home"),
        license_id="lic",
        cutoff=world.cutoff,
        out_dir=out,
    )
    with session_scope(engine) as session:
        delivery = session.get(Delivery, result.delivery_id)
        assert delivery is not None
        as_of = delivery.started_at
        lic = session.get(License, "lic")
        assert lic is not None
        license = license_facts(lic)
        members = {
            row.post_id: row
            for row in session.execute(
                text(
                    "SELECT post_id, basis_event_id, basis_policy_version, basis_default "
                    "FROM delivery_members WHERE delivery_id = :d"
                ),
                {"d": result.delivery_id},
            )
        }
    expected, excluded = expected_outcome(world, events, license, as_of)
    records = [
        r for shard in sorted(out.glob("*.parquet")) for r in pq.read_table(shard).to_pylist()
    ]
    got = {}
    for r in records:
        m = members[r["record_id"]]
        if m.basis_event_id is not None:
            basis = f"event:{m.basis_event_id}"
        else:
            basis = f"policy:{m.basis_policy_version}:{m.basis_default}"
        got[r["record_id"]] = (r["quoted_text"], basis)
    assert got == expected
    assert {k: v for k, v in result.counts.excluded.items() if v} == dict(excluded)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["quotes_masked"] == sum(
        1 for quoted, _ in expected.values() if quoted == QUOTED_PLACEHOLDER
    )


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
@SETTINGS
@given(world=worlds())
def test_export_on_sqlite_delivers_exactly_what_the_rule_allows(
    world: World, tmp_path: Path
) -> None:
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder / 'consentry.db'}")
    upgrade(engine)
    try:
        check_export(engine, world, folder)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres_schemas() -> Iterator[list[str]]:
    """Schemas made by the PostgreSQL examples, dropped at the end of the module."""
    require_postgres()
    made: list[str] = []
    yield made
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        for schema in made:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.mark.slow
@pytest.mark.postgres
@SETTINGS
@given(world=worlds())
def test_export_on_postgres_delivers_exactly_what_the_rule_allows(
    world: World, tmp_path: Path, postgres_schemas: list[str]
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    postgres_schemas.append(schema)
    engine = make_engine(postgres_schema_url(schema))
    upgrade(engine)
    try:
        check_export(engine, world, tmp_path)
    finally:
        engine.dispose()
