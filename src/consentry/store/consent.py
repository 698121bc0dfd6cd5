"""Reading and recording consent: the ledger as facts for the rule, one account or all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pyarrow as pa
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from consentry.domain import consent_bulk
from consentry.domain.types import (
    AccountFacts,
    ConsentEventFacts,
    ConsentSource,
    Decision,
    PostFacts,
    PostKind,
    Visibility,
)
from consentry.errors import InvalidInput, NotFound
from consentry.store.arrow_io import read_batches, read_table
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


def account_facts(account: Account) -> AccountFacts:
    return AccountFacts(
        id=account.id,
        jurisdiction=account.jurisdiction,
        protected=account.protected,
        birth_date=account.birth_date,
        is_minor=account.is_minor,
        deleted_at=account.deleted_at,
    )


def post_facts(post: Post) -> PostFacts:
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


def event_facts(event: ConsentEvent) -> ConsentEventFacts:
    return ConsentEventFacts(
        id=event.id,
        account_id=event.account_id,
        purpose=event.purpose,
        collaborator_id=event.collaborator_id,
        decision=Decision(event.decision),
        effective_at=event.effective_at,
        recorded_at=event.recorded_at,
        source=ConsentSource(event.source),
    )


def events_of(session: Session, account_id: str) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.account_id == account_id)
            .order_by(ConsentEvent.id)
        )
    )


def accounts_table(engine: Engine) -> pa.Table:
    """Every account as ``consent_bulk.ACCOUNT_SCHEMA``."""
    return read_table(engine, table="accounts", schema=consent_bulk.ACCOUNT_SCHEMA)


def events_batches(engine: Engine, purpose: str | None = None) -> Iterator[pa.RecordBatch]:
    """The ledger (optionally one purpose) as batches of ``consent_bulk.EVENT_SCHEMA``."""
    quoted = purpose.replace("'", "''") if purpose else None
    return read_batches(
        engine,
        table="consent_events",
        schema=consent_bulk.EVENT_SCHEMA,
        where=f"purpose = '{quoted}'" if quoted else "",
    )


def events_table(engine: Engine, purpose: str | None = None) -> pa.Table:
    """The ledger (optionally one purpose) as ``consent_bulk.EVENT_SCHEMA``."""
    return pa.Table.from_batches(
        list(events_batches(engine, purpose)), schema=consent_bulk.EVENT_SCHEMA
    )


def now() -> datetime:
    return datetime.now(UTC)
