"""The real app under uvicorn on a loopback port, over the real database (SQLite and PostgreSQL).

``world`` is a small platform: a policy that is opt-in in the EU and opt-out in the US, two
collaborators with a license each, accounts in several situations and their posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from consentry.service.app import create_app
from consentry.service.background import running
from consentry.service.config import ServiceSettings
from consentry.service.credentials import create_platform_token
from consentry.store.db import session_scope
from consentry.store.models import Account, Post
from consentry.store.parties import add_collaborator, add_license
from consentry.store.policies import draft_policy, publish_policy

PLATFORM_SECRET = "platform-secret-for-tests-0123456789abcdef"
SESSION_SECRET = "session-secret-for-tests-0123456789abcdef"
V1_EFFECTIVE = datetime(2024, 11, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Service:
    url: str
    engine: Engine
    settings: ServiceSettings
    app: FastAPI

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]


def service_settings(home: Path, engine: Engine, **overrides: object) -> ServiceSettings:
    return ServiceSettings(
        home=home,
        database_url=engine.url.render_as_string(hide_password=False),
        platform_secret=PLATFORM_SECRET,
        session_secret=SESSION_SECRET,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def service(engine: Engine, tmp_path: Path) -> Iterator[Service]:
    settings = service_settings(tmp_path / "home", engine)
    app = create_app(settings, engine=engine)
    with running(app) as url:
        yield Service(url, engine, settings, app)


@pytest.fixture
def platform_token(engine: Engine) -> str:
    with session_scope(engine) as session:
        return create_platform_token(session, name="backend", actor="test")[1]


@pytest.fixture
def platform(service: Service, platform_token: str) -> Iterator[httpx.Client]:
    """A client of the platform API holding a valid service token."""
    with service.client(headers={"Authorization": f"Bearer {platform_token}"}) as client:
        yield client


ACCOUNTS = {
    # id: (jurisdiction, extra fields)
    "ada": ("DE", {}),
    "bob": ("US-CA", {}),
    "cy": ("US-TX", {}),
    "kid": ("US-NY", {"is_minor": True}),
    "pia": ("US-NY", {"protected": True}),
}


@pytest.fixture
def world(engine: Engine) -> Engine:
    """Policy v1 (EU opt-in, US opt-out from 2024-11-15), acme and bolt licensed, 5 accounts."""
    with session_scope(engine) as session:
        draft_policy(
            session,
            version="v1",
            summary="Collaborators may train AI models on public posts.",
            defaults={"train_ai_system": {"EU": "opt_in", "GB": "opt_in", "US": "opt_out"}},
            actor="test",
        )
        publish_policy(
            session,
            version="v1",
            effective_at=V1_EFFECTIVE,
            published_at=datetime(2024, 10, 15, tzinfo=UTC),
            actor="test",
        )
        for cid, name, country in (("acme", "Acme AI", "US"), ("bolt", "Bolt Labs", "FR")):
            add_collaborator(session, id=cid, name=name, country=country, actor="test")
            add_license(
                session,
                id=f"lic-{cid}",
                collaborator_id=cid,
                purpose="train_ai_system",
                scope={"public_only": True},
                term_start=datetime(2024, 11, 1, tzinfo=UTC),
                actor="test",
            )
        add_collaborator(session, id="idle", name="Idle Co", country="DE", actor="test")
        for account_id, (jurisdiction, extra) in ACCOUNTS.items():
            session.add(
                Account(
                    id=account_id,
                    handle=account_id,
                    jurisdiction=jurisdiction,
                    protected=extra.get("protected", False),
                    is_minor=extra.get("is_minor"),
                )
            )
        session.flush()
        for account_id in ACCOUNTS:
            for n in (1, 2):
                session.add(
                    Post(
                        id=f"{account_id}-{n}",
                        account_id=account_id,
                        created_at=datetime(2024, 12, n, tzinfo=UTC),
                        text=f"post {n} of {account_id}",
                        lang="en",
                        visibility="public",
                    )
                )
        session.add(
            Post(
                id="bob-dm",
                account_id="bob",
                created_at=datetime(2024, 12, 3, tzinfo=UTC),
                text="a direct message",
                visibility="direct",
            )
        )
    return engine
