"""What consent receipts and `consentry explain` read: a delivered record's membership row, a
user's own consent events, the notices they were shown, the collaborators listed by a moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from consentry.errors import NotFound
from consentry.store.models import (
    Account,
    Collaborator,
    ConsentEvent,
    DeliveryMember,
    NoticeServed,
)

RECEIPTS_LISTING = "GET /api/me/consent-receipts"


def delivered_record(session: Session, *, delivery_id: str, record: str) -> DeliveryMember:
    """The membership row of ``record`` (its pseudonym as delivered, or the platform's post id)."""
    found = session.scalars(
        select(DeliveryMember)
        .where(
            DeliveryMember.delivery_id == delivery_id,
            or_(DeliveryMember.record_pseudonym == record, DeliveryMember.post_id == record),
        )
        .order_by(DeliveryMember.post_id)
    ).first()
    if found is None:
        raise NotFound(
            f"record (pseudonym or post id) in delivery {delivery_id}",
            record,
            listing=f"consentry deliveries show {delivery_id} --members",
        )
    return found


def get_account(session: Session, *, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    return account


def get_event(session: Session, *, event_id: int) -> ConsentEvent:
    event = session.get(ConsentEvent, event_id)
    if event is None:
        raise NotFound("consent event", event_id, listing="consentry consent history ACCOUNT")
    return event


def event_of_account(session: Session, *, account_id: str, event_id: int) -> ConsentEvent:
    """The account's own event; another account's is as absent as a missing one (same 404)."""
    event = session.get(ConsentEvent, event_id)
    if event is None or event.account_id != account_id:
        raise NotFound("consent receipt", event_id, listing=RECEIPTS_LISTING)
    return event


def events_of_account(session: Session, *, account_id: str) -> list[ConsentEvent]:
    """The account's consent events in ledger order (the order the platform sent them)."""
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.account_id == account_id)
            .order_by(ConsentEvent.id)
        )
    )


def previous_decision(session: Session, *, event: ConsentEvent) -> str | None:
    """The decision of the latest earlier event (ledger order) with the same account, purpose
    and recipient (a collaborator, or all of them)."""
    query = select(ConsentEvent.decision).where(
        ConsentEvent.account_id == event.account_id,
        ConsentEvent.purpose == event.purpose,
        ConsentEvent.id < event.id,
    )
    query = query.where(
        ConsentEvent.collaborator_id.is_(None)
        if event.collaborator_id is None
        else ConsentEvent.collaborator_id == event.collaborator_id
    )
    return session.scalars(query.order_by(ConsentEvent.id.desc()).limit(1)).first()


def notices_before(
    session: Session, *, account_id: str, policy_version: str, moment: datetime
) -> list[NoticeServed]:
    """The notices of ``policy_version`` shown to the account at or before ``moment``."""
    return list(
        session.scalars(
            select(NoticeServed)
            .where(
                NoticeServed.account_id == account_id,
                NoticeServed.policy_version == policy_version,
                NoticeServed.shown_at <= moment,
            )
            .order_by(NoticeServed.shown_at, NoticeServed.id)
        )
    )


def get_collaborator_or_none(session: Session, *, collaborator_id: str) -> Collaborator | None:
    return session.get(Collaborator, collaborator_id)


def collaborators_listed_by(session: Session, *, moment: datetime) -> list[Collaborator]:
    """Collaborators users had been shown by ``moment`` (those a master choice then covers)."""
    return list(
        session.scalars(
            select(Collaborator).where(Collaborator.listed_at <= moment).order_by(Collaborator.id)
        )
    )
