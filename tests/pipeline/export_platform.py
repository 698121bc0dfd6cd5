"""A small platform in a real database, built so that every exclusion reason occurs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, insert

from consentry.domain.types import ConsentSource, Decision
from consentry.settings import Settings
from consentry.store.db import session_scope
from consentry.store.ledger import append_consent_event
from consentry.store.models import Account, Post
from consentry.store.parties import add_collaborator, add_license
from consentry.store.policies import draft_policy, publish_policy

UTC0 = datetime(2024, 1, 1, tzinfo=UTC)
PUBLISHED = datetime(2024, 10, 16, tzinfo=UTC)
EFFECTIVE = datetime(2024, 11, 15, tzinfo=UTC)
CUTOFF = datetime(2024, 12, 15, tzinfo=UTC)
U = "train_ai_system"


@dataclass(frozen=True)
class Platform:
    engine: Engine
    settings: Settings
    cutoff: datetime


def _account(id: str, jurisdiction: str, **kw: object) -> dict:
    return {"id": id, "handle": id, "jurisdiction": jurisdiction, "protected": False, **kw}


def _post(id: str, account: str, created: datetime, text: str, **kw: object) -> dict:
    return {
        "id": id,
        "account_id": account,
        "created_at": created,
        "text": text,
        "lang": "en",
        "visibility": "public",
        "like_count": 0,
        "repost_count": 0,
        "reply_count": 0,
        **kw,
    }


def build_platform(engine: Engine, extra_posts: int = 0) -> None:
    """Accounts and posts so that each of the nine exclusion reasons applies to some post."""
    d = datetime(2024, 11, 20, tzinfo=UTC)
    accounts = [
        _account("us_default", "US-CA"),  # opt-out default: delivered (and before_policy)
        _account("us_denier", "US-NY"),  # explicit deny -> denied
        _account("de_silent", "DE"),  # opt-in default, no choice -> no_consent
        _account("de_yes", "DE"),  # explicit allow -> delivered, even old posts
        _account("jp_nowhere", "JP"),  # no policy key for JP and no '*' -> no_consent (opt_in)
        _account("minor", "US-TX", birth_date=date(2010, 5, 1)),
        _account("private", "US-CA", protected=True),
        _account("gone", "US-CA", deleted_at=d),
        _account("br_user", "BR"),  # purpose not covered for BR... policy has no BR -> opt_in
    ]
    posts = [
        _post("p01", "us_default", d, "hello from @de_yes mail me at ada@example.com"),
        _post("p02", "us_default", d, "dm", visibility="direct"),
        _post("p03", "us_default", d, "bye", deleted_at=d + timedelta(days=1)),
        _post("p04", "us_default", datetime(2024, 11, 1, tzinfo=UTC), "before the policy"),
        _post("p05", "us_default", d, "later than cutoff"),
        _post("p06", "us_denier", d, "no thanks @us_default"),
        _post("p07", "de_silent", d, "hallo"),
        _post("p08", "de_yes", datetime(2024, 6, 1, tzinfo=UTC), "old post, explicit yes"),
        _post("p09", "minor", d, "school"),
        _post("p10", "private", d, "secret"),
        _post("p11", "gone", d, "deleted account"),
        _post("p12", "us_default", d, "private post", visibility="protected"),
        _post(
            "p13",
            "us_default",
            d,
            "reply with card 4111 1111 1111 1111",
            reply_to="p01",
            kind="reply",
        ),
        _post("p14", "jp_nowhere", d, "konnichiwa"),
    ]
    posts[4]["created_at"] = CUTOFF + timedelta(days=1)
    for i in range(extra_posts):
        posts.append(
            _post(
                f"x{i:06d}",
                ["us_default", "de_yes"][i % 2],
                d + timedelta(seconds=i),
                f"bulk post {i} call +1 (415) 555-0132 or see @us_denier",
            )
        )
    with session_scope(engine) as session:
        session.execute(insert(Account), accounts)
        session.execute(insert(Post), posts)
        draft_policy(
            session,
            version="v2",
            summary="AI training",
            defaults={U: {"US": "opt_out", "EU": "opt_in", "GB": "opt_in"}},
            actor="test",
        )
        publish_policy(
            session, version="v2", effective_at=EFFECTIVE, published_at=PUBLISHED, actor="test"
        )
        append_consent_event(
            session,
            account_id="us_denier",
            purpose=U,
            decision=Decision.DENY,
            source=ConsentSource.SETTINGS,
            effective_at=d,
            recorded_at=d,
        )
        append_consent_event(
            session,
            account_id="de_yes",
            purpose=U,
            decision=Decision.ALLOW,
            source=ConsentSource.SETTINGS,
            effective_at=d,
            recorded_at=d,
        )
        add_collaborator(
            session,
            id="northwind-ai",
            name="Northwind AI Ltd",
            country="GB",
            listed_at=UTC0,
            actor="test",
        )
        add_collaborator(
            session,
            id="lumen-labs",
            name="Lumen Labs Inc.",
            country="US",
            listed_at=UTC0,
            actor="test",
        )
        add_license(
            session,
            id="nw-all",
            collaborator_id="northwind-ai",
            purpose=U,
            scope={"kinds": ["post", "reply"], "public_only": True},
            term_start=UTC0,
            actor="test",
        )
        add_license(
            session,
            id="lumen-en-posts",
            collaborator_id="lumen-labs",
            purpose=U,
            scope={
                "kinds": ["post"],
                "languages": ["en"],
                "created_from": "2024-11-01T00:00:00+00:00",
            },
            transforms={"coarsen_timestamps": "month"},
            term_start=UTC0,
            actor="test",
        )
