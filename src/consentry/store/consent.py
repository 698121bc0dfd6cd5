"""Recording consent (ledger + audit), and a post as the rule reads it.

Reading the rule's inputs is ``store.snapshot``'s job alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from consentry.domain.types import (
    ConsentSource,
    Decision,
    PostFacts,
    PostKind,
    Visibility,
)
from consentry.errors import InvalidInput, NotFound
from consentry.store.ledger import append_audit_event, append_consent_event
from consentry.store.models import Account, Collaborator, ConsentEvent, Post, Purpose


def record_consent(
    session: Session,
    *,
    account_id: str,
    purpose: str,
    decision: Decision | str,
    source: ConsentSource | str,
    actor: str,
    collaborator_id: str | None = None,
    effective_at: datetime | None = None,
    policy_version: str | None = None,
    external_id: str | None = None,
) -> ConsentEvent:
    """Append a consent event and its audit record (one change, one audit event)."""
    if session.get(Account, account_id) is None:
        raise NotFound("account", account_id)
    if session.get(Purpose, purpose) is None:
        raise InvalidInput(f"unknown purpose {purpose!r}", field="purpose")
    if collaborator_id is not None and session.get(Collaborator, collaborator_id) is None:
        raise NotFound("collaborator", collaborator_id)
    try:
        decision, source = Decision(decision), ConsentSource(source)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="decision/source") from exc
    event = append_consent_event(
        session,
        account_id=account_id,
        purpose=purpose,
        decision=decision,
        source=source,
        collaborator_id=collaborator_id,
        effective_at=effective_at,
        policy_version=policy_version,
        external_id=external_id,
    )
    append_audit_event(
        session,
        actor=actor,
        action="consent.record",
        object_type="account",
        object_id=account_id,
        details={
            "event_id": event.id,
            "purpose": purpose,
            "collaborator_id": collaborator_id,
            "decision": decision.value,
            "source": source.value,
        },
    )
    return event


def event_with_external_id(session: Session, external_id: str) -> ConsentEvent:
    """The recorded event the platform sent under ``external_id``."""
    found = session.scalars(
        select(ConsentEvent).where(ConsentEvent.external_id == external_id)
    ).first()
    if found is None:
        raise NotFound("consent event", external_id)
    return found


def post_facts(post: Post | Row[*tuple[Any, ...]]) -> PostFacts:
    """A post (a model, or a result row of its columns) as the rule reads it."""
    return PostFacts(
        id=post.id,
        account_id=post.account_id,
        created_at=post.created_at,
        visibility=Visibility(post.visibility),
        lang=post.lang,
        reply_to=post.reply_to,
        deleted_at=post.deleted_at,
        kind=PostKind(post.kind),
        original_id=post.original_id,
    )


def now() -> datetime:
    return datetime.now(UTC)
