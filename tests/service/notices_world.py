"""Deletion notices for the service tests: issued straight through ``store.notices`` over the
deliveries of ``world.DELIVERED``, or by a real withdrawal and propagation."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from sqlalchemy import Engine

from consentry.store.content import bulk_session
from consentry.store.credentials import create_api_key
from consentry.store.db import session_scope
from consentry.store.notices import MEMBER_COLUMNS, issue_notice
from service.world import DELIVERED


def issue(
    engine: Engine,
    delivery_id: str,
    posts: list[str] | None = None,
    *,
    issued_at: datetime | None = None,
    sla_days: int = 30,
    reason: str = "consent_withdrawn",
) -> int:
    """A notice taking back ``posts`` (default: all) of one seeded delivery; its id."""
    collaborator, license_id, members = DELIVERED[delivery_id]
    chosen = [(p, a) for p, a in members if posts is None or p in posts]
    records = pa.table(
        {
            "delivery_id": [delivery_id] * len(chosen),
            "post_id": [p for p, _ in chosen],
            "account_id": [a for _, a in chosen],
            "record_pseudonym": [f"r-{delivery_id}-{p}" for p, _ in chosen],
            "license_id": [license_id] * len(chosen),
            "collaborator_id": [collaborator] * len(chosen),
        },
        schema=MEMBER_COLUMNS,
    )
    with bulk_session(engine) as session:  # issue_notice stages its records in bulk
        notice = issue_notice(
            session,
            collaborator_id=collaborator,
            license_id=license_id,
            reason=reason,
            records=records,
            sla_days=sla_days,
            issued_at=issued_at or datetime.now(UTC),
            actor="test",
        )
        return notice.id


def new_key(engine: Engine, collaborator_id: str, scopes: list[str] | None = None) -> str:
    with session_scope(engine) as session:
        return create_api_key(
            session, collaborator_id=collaborator_id, scopes=scopes, actor="test"
        )[1]
