"""A small platform for the service tests and the browser tests: seed data, a signed-in client,
deliveries with real Parquet shards.

``seed_world`` makes a policy that is opt-in in the EU and opt-out in the US (from 2024-11-15),
two licensed collaborators (and one without a license), accounts in several situations and their
posts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import FastAPI
from sqlalchemy import Engine

from consentry.pipeline.manifest import (
    CollaboratorInfo,
    Counts,
    LicenseInfo,
    Manifest,
    Software,
    Transform,
)
from consentry.service.config import ServiceSettings
from consentry.service.security import make_signin_token
from consentry.store.credentials import add_staff_user
from consentry.store.db import session_scope
from consentry.store.models import Account, Delivery, DeliveryMember, DeliveryShard, Post
from consentry.store.parties import add_collaborator, add_license
from consentry.store.policies import draft_policy, publish_policy

PLATFORM_SECRET = "platform-secret-for-tests-0123456789abcdef"
SESSION_SECRET = "session-secret-for-tests-0123456789abcdef"
V1_EFFECTIVE = datetime(2024, 11, 15, tzinfo=UTC)
LISTED = datetime(2024, 10, 1, tzinfo=UTC)
"""When users were first shown each collaborator."""


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


ACCOUNTS = {
    # id: (jurisdiction, extra fields)
    "ada": ("DE", {}),
    "bob": ("US-CA", {}),
    "cy": ("US-TX", {}),
    "kid": ("US-NY", {"is_minor": True}),
    "pia": ("US-NY", {"protected": True}),
    "nia": ("US-NY", {}),
}


def seed_world(engine: Engine) -> None:
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
            add_collaborator(
                session, id=cid, name=name, country=country, listed_at=LISTED, actor="test"
            )
            add_license(
                session,
                id=f"lic-{cid}",
                collaborator_id=cid,
                purpose="train_ai_system",
                scope={"public_only": True},
                term_start=datetime(2024, 11, 1, tzinfo=UTC),
                actor="test",
            )
        add_collaborator(
            session, id="idle", name="Idle Co", country="DE", listed_at=LISTED, actor="test"
        )
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


@contextmanager
def sign_in(service: Service, account_id: str) -> Iterator[httpx.Client]:
    """A browser-like client that followed the platform's sign-in link for ``account_id``."""
    with service.client() as client:
        token = make_signin_token(PLATFORM_SECRET, account_id)
        response = client.get("/auth/signin", params={"token": token})
        assert response.status_code == 303, response.text
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


DELIVERED = {
    # delivery: (collaborator, license, [(post, account)])
    "d-acme-1": ("acme", "lic-acme", [("bob-1", "bob"), ("bob-2", "bob"), ("cy-1", "cy")]),
    "d-bolt-1": ("bolt", "lic-bolt", [("cy-2", "cy")]),
}


def seed_deliveries(engine: Engine, root: Path) -> dict[str, Path]:
    """The deliveries of ``DELIVERED``, complete, with shards, manifests and membership."""
    dirs = {}
    with session_scope(engine) as session:
        for delivery_id, (collaborator, license_id, members) in DELIVERED.items():
            directory = root / delivery_id
            directory.mkdir(parents=True)
            shard = directory / "part-00000.parquet"
            pq.write_table(_records(delivery_id, members), shard)
            (directory / "manifest.json").write_text(
                json.dumps(_manifest(delivery_id, collaborator, license_id, members))
            )
            (directory / "manifest.sig").write_text("signature-bytes")
            moment = datetime(2025, 1, 1, tzinfo=UTC)
            session.add(
                Delivery(
                    id=delivery_id,
                    license_id=license_id,
                    collaborator_id=collaborator,
                    kind="full",
                    cutoff=moment,
                    started_at=moment,
                    finished_at=moment.replace(minute=5),
                    status="complete",
                    engine="embedded",
                    path=str(directory),
                    record_count=len(members),
                    counts={"delivered": len(members)},
                )
            )
            session.flush()
            data = shard.read_bytes()
            session.add(
                DeliveryShard(
                    delivery_id=delivery_id,
                    name=shard.name,
                    sha256=hashlib.sha256(data).hexdigest(),
                    rows=len(members),
                    bytes=len(data),
                )
            )
            for post, account in members:
                session.add(
                    DeliveryMember(
                        delivery_id=delivery_id,
                        post_id=post,
                        account_id=account,
                        record_pseudonym=f"r-{delivery_id}-{post}",
                        basis_policy_version="v1",
                        basis_default="opt_out",
                    )
                )
            dirs[delivery_id] = directory
    return dirs


APPLIED = ("consent_filter", "redact", "mentions", "pseudonymize", "coarsen_timestamps")
"""The transforms the world's manifests record (the export's names), times to the day."""


def _manifest(
    delivery_id: str, collaborator: str, license_id: str, members: list[tuple[str, str]]
) -> dict[str, object]:
    """A manifest as an export writes it; the user's record reads what was done to the posts."""
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    n = len(members)
    return Manifest(
        delivery_id=delivery_id,
        kind="full",
        license=LicenseInfo(
            id=license_id,
            purpose="train_ai_system",
            transforms={"coarsen_timestamps": "day"},
            price_model="per_record",
            deletion_sla_days=30,
        ),
        collaborator=CollaboratorInfo(id=collaborator, name=collaborator, country="GB"),
        cutoff=moment,
        as_of=moment,
        created_at=moment,
        engine="embedded",
        software=Software(name="consentry", version="test"),
        counts=Counts(scanned=n, in_scope=n, excluded={}, delivered=n),
        shards=[],
        schema=[],
        transforms=[Transform(name=name, description=name) for name in APPLIED],
    ).to_json()


def _records(delivery_id: str, members: list[tuple[str, str]]) -> pa.Table:
    n = len(members)
    return pa.table(
        {
            "record_id": [f"r-{delivery_id}-{post}" for post, _ in members],
            "author_id": [f"a-{delivery_id}-{account}" for _, account in members],
            "created_at": pa.array(
                [datetime(2024, 12, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")
            ),
            "lang": ["en"] * n,
            "kind": ["post"] * n,
            "reply_to_id": pa.array([None] * n, pa.string()),
            "text": [f"text of {post}" for post, _ in members],
        }
    )


STAFF_PASSWORD = "a long staff password"


def seed_staff(engine: Engine) -> None:
    """alice (admin) and victor (viewer), both with ``STAFF_PASSWORD``."""
    with session_scope(engine) as session:
        add_staff_user(session, username="alice", password=STAFF_PASSWORD, role="admin", actor="t")
        add_staff_user(
            session, username="victor", password=STAFF_PASSWORD, role="viewer", actor="t"
        )


def staff_login(
    client: httpx.Client, username: str, password: str = STAFF_PASSWORD
) -> httpx.Response:
    """Sign in as a browser does: fetch the form (its CSRF token and cookie), then post it."""
    csrf = csrf_of(client.get("/admin/login").text)
    return client.post(
        "/admin/login", data={"username": username, "password": password, "csrf_token": csrf}
    )


@contextmanager
def staff_signed_in(service: Service, username: str) -> Iterator[httpx.Client]:
    with service.client() as client:
        response = staff_login(client, username)
        assert response.status_code == 303, response.text
        yield client
