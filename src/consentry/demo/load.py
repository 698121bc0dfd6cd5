"""Load the synthetic platform: its policies and collaborators, then its files through the importer.

Idempotent: what is already there (a policy version, a collaborator, an account, a post, a
consent event with the same external id) is left as it is, so loading twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow.parquet as pq
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from consentry.demo.scenario import COLLABORATORS, POLICIES
from consentry.demo.synthetic import DemoFiles
from consentry.errors import NotFound
from consentry.ingest import ImportReport, import_table
from consentry.store.db import session_scope
from consentry.store.models import Collaborator
from consentry.store.parties import add_collaborator
from consentry.store.policies import draft_policy, get_policy, publish_policy

KINDS = ("accounts", "posts", "consent")
"""In the order they must be loaded: posts and consent events refer to accounts."""


@dataclass(frozen=True)
class LoadReport:
    policies_added: list[str]
    collaborators_added: list[str]
    imports: dict[str, ImportReport]


def _ensure_policies(session: Session, actor: str) -> list[str]:
    added = []
    for policy in POLICIES:
        try:
            existing = get_policy(session, policy.version)
        except NotFound:
            existing = draft_policy(
                session,
                version=policy.version,
                summary=policy.summary,
                defaults=policy.defaults,
                full_text=policy.full_text,
                actor=actor,
            )
            added.append(policy.version)
        if existing.status != "published":
            publish_policy(
                session,
                version=policy.version,
                effective_at=policy.effective_at,
                published_at=policy.published_at,
                actor=actor,
            )
    return added


def _ensure_collaborators(session: Session, actor: str) -> list[str]:
    added = []
    for c in COLLABORATORS:
        if session.get(Collaborator, c.id) is None:
            add_collaborator(
                session,
                id=c.id,
                name=c.name,
                country=c.country,
                contact=c.contact,
                dpa_date=c.dpa_date,
                listed_at=c.listed_at,
                actor=actor,
            )
            added.append(c.id)
    return added


def load(
    engine: Engine,
    files: DemoFiles,
    *,
    actor: str,
    on_step: Callable[[str], None] | None = None,
) -> LoadReport:
    """Policies v1 and v2, the two collaborators, then accounts, posts and consent events."""
    step = on_step or (lambda _name: None)
    step("policies")
    with session_scope(engine) as session:
        policies = _ensure_policies(session, actor)
        collaborators = _ensure_collaborators(session, actor)
    imports = {}
    for kind in KINDS:
        step(kind)
        path = getattr(files, kind)
        imports[kind] = import_table(
            engine, kind, pq.read_table(path), source_name=str(path), actor=actor
        )
    return LoadReport(policies, collaborators, imports)
