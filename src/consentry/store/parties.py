"""Collaborators and their license agreements."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.domain.revenue import BASIS_POINTS, PRICE_MODELS
from consentry.domain.types import (
    LICENSABLE_KINDS,
    CollaboratorFacts,
    LicenseFacts,
    LicenseScope,
    PostKind,
)
from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.revenue.money import check_currency
from consentry.store.ledger import append_audit_event
from consentry.store.models import Collaborator, License
from consentry.store.policies import ensure_purpose

COLLABORATOR_STATUSES = ("active", "suspended", "terminated")
COARSENING = ("none", "hour", "day", "month")
DEFAULT_FIELDS = [
    "post_id",
    "account_id",
    "created_at",
    "lang",
    "text",
    "kind",
    "reply_to",
    "quoted",
]
DEFAULT_TRANSFORMS = {"redact": True, "pseudonymize": True, "coarsen_timestamps": "day"}


def add_collaborator(
    session: Session,
    *,
    id: str,
    name: str,
    country: str,
    contact: str = "",
    dpa_date: date | None = None,
    listed_at: datetime | None = None,
    actor: str,
) -> Collaborator:
    """A new collaborator; ``listed_at`` is when users are first shown it (default now)."""
    if session.get(Collaborator, id) is not None:
        raise Conflict(f"collaborator {id!r} already exists")
    if len(country) != 2 or not country.isalpha():
        raise InvalidInput("expected an ISO 3166 alpha-2 country code", field="country")
    if listed_at is not None and listed_at.tzinfo is None:
        raise InvalidInput(
            f"{listed_at.isoformat()!r} has no time zone; add 'Z' or '+00:00'", field="listed_at"
        )
    now = datetime.now(UTC)
    collaborator = Collaborator(
        id=id,
        name=name,
        country=country.upper(),
        contact=contact,
        status="active",
        dpa_date=dpa_date,
        created_at=now,
        listed_at=listed_at.astimezone(UTC) if listed_at else now,
    )
    session.add(collaborator)
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="collaborator.add",
        object_type="collaborator",
        object_id=id,
        details={
            "name": name,
            "country": collaborator.country,
            "listed_at": collaborator.listed_at.isoformat(),
        },
    )
    return collaborator


def set_collaborator_status(session: Session, *, id: str, status: str, actor: str) -> Collaborator:
    if status not in COLLABORATOR_STATUSES:
        raise InvalidInput(f"expected one of {', '.join(COLLABORATOR_STATUSES)}", field="status")
    collaborator = get_collaborator(session, id)
    previous, collaborator.status = collaborator.status, status
    append_audit_event(
        session,
        actor=actor,
        action="collaborator.status",
        object_type="collaborator",
        object_id=id,
        details={"from": previous, "to": status},
    )
    return collaborator


def get_collaborator(session: Session, id: str) -> Collaborator:
    collaborator = session.get(Collaborator, id)
    if collaborator is None:
        raise NotFound("collaborator", id)
    return collaborator


def list_collaborators(session: Session) -> list[Collaborator]:
    return list(session.scalars(select(Collaborator).order_by(Collaborator.id)))


def add_license(
    session: Session,
    *,
    id: str,
    collaborator_id: str,
    purpose: str,
    scope: dict[str, Any],
    term_start: datetime,
    term_end: datetime | None = None,
    fields: list[str] | None = None,
    transforms: dict[str, Any] | None = None,
    description: str = "",
    price_model: str = "per_record",
    price_minor: int = 0,
    currency: str = "USD",
    creator_share_bp: int = 0,
    deletion_sla_days: int = 30,
    cadence: str = "monthly",
    actor: str,
) -> License:
    """A new license; ``price_minor`` is the unit price in the currency's minor units and
    ``creator_share_bp`` the creators' share of each fee in basis points."""
    if session.get(License, id) is not None:
        raise Conflict(f"license {id!r} already exists")
    if not id:
        raise InvalidInput("a license needs an id", field="id")
    check_license_terms(
        term_start=term_start,
        term_end=term_end,
        price_model=price_model,
        price_minor=price_minor,
        creator_share_bp=creator_share_bp,
        deletion_sla_days=deletion_sla_days,
    )
    currency = check_currency(currency)
    get_collaborator(session, collaborator_id)
    ensure_purpose(session, purpose)
    transforms = {**DEFAULT_TRANSFORMS, **(transforms or {})}
    if transforms["coarsen_timestamps"] not in COARSENING:
        raise InvalidInput(
            f"expected one of {', '.join(COARSENING)}", field="transforms.coarsen_timestamps"
        )
    license_scope_from_json(scope)  # validates
    license = License(
        id=id,
        collaborator_id=collaborator_id,
        purpose=purpose,
        description=description,
        scope=scope,
        fields=fields or list(DEFAULT_FIELDS),
        transforms=transforms,
        cadence=cadence,
        term_start=term_start,
        term_end=term_end,
        price_model=price_model,
        price_minor=price_minor,
        currency=currency,
        creator_share_bp=creator_share_bp,
        deletion_sla_days=deletion_sla_days,
        status="active",
        created_at=datetime.now(UTC),
    )
    session.add(license)
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="license.add",
        object_type="license",
        object_id=id,
        details={"collaborator_id": collaborator_id, "purpose": purpose, "scope": scope},
    )
    return license


def check_license_terms(
    *,
    term_start: datetime,
    term_end: datetime | None,
    price_model: str,
    price_minor: int,
    creator_share_bp: int,
    deletion_sla_days: int,
) -> None:
    """Refuse terms no agreement can have, naming the field."""
    if term_end is not None and term_end <= term_start:
        raise InvalidInput("the term must end after it starts", field="term_end")
    if price_model not in PRICE_MODELS:
        raise InvalidInput(f"expected one of {', '.join(PRICE_MODELS)}", field="price_model")
    if price_minor < 0:
        raise InvalidInput("a price cannot be negative", field="price")
    if not 0 <= creator_share_bp <= BASIS_POINTS:
        raise InvalidInput("the creators' share is between 0% and 100%", field="creator_share")
    if deletion_sla_days < 1:
        raise InvalidInput("the deletion deadline is at least 1 day", field="deletion_sla_days")


def get_license(session: Session, id: str) -> License:
    license = session.get(License, id)
    if license is None:
        raise NotFound("license", id)
    return license


def list_licenses(
    session: Session, *, collaborator_id: str | None = None, status: str | None = None
) -> list[License]:
    """Licenses by id; only one collaborator's, or only those of one status, when asked."""
    query = select(License).order_by(License.id)
    if collaborator_id is not None:
        query = query.where(License.collaborator_id == collaborator_id)
    if status is not None:
        query = query.where(License.status == status)
    return list(session.scalars(query))


def _parse_time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"not an ISO 8601 time: {value!r}", field=field) from exc
    if moment.tzinfo is None:
        raise InvalidInput(f"{value!r} has no time zone; add 'Z' or '+00:00'", field=field)
    return moment


def license_scope_from_json(scope: dict[str, Any]) -> LicenseScope:
    """The stored scope (JSON) as the rule's ``LicenseScope``; raises InvalidInput on errors."""
    known = {
        "kinds",
        "created_from",
        "created_until",
        "languages",
        "public_only",
        "include_pre_policy_posts",
    }
    unknown = set(scope) - known
    if unknown:
        raise InvalidInput(
            f"unknown scope keys {sorted(unknown)}; known: {sorted(known)}", field="scope"
        )
    try:
        kinds = frozenset(PostKind(k) for k in scope.get("kinds", sorted(LICENSABLE_KINDS)))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="scope.kinds") from exc
    languages = scope.get("languages")
    return LicenseScope(
        kinds=kinds,
        created_from=_parse_time(scope.get("created_from"), "scope.created_from"),
        created_until=_parse_time(scope.get("created_until"), "scope.created_until"),
        languages=frozenset(languages) if languages is not None else None,
        public_only=bool(scope.get("public_only", True)),
        include_pre_policy_posts=bool(scope.get("include_pre_policy_posts", False)),
    )


def license_facts(license: License) -> LicenseFacts:
    return LicenseFacts(
        id=license.id,
        collaborator_id=license.collaborator_id,
        purpose=license.purpose,
        scope=license_scope_from_json(license.scope),
        term_start=license.term_start,
        term_end=license.term_end,
        status=license.status,
        deletion_sla_days=license.deletion_sla_days,
    )


def collaborator_facts(collaborator: Collaborator) -> CollaboratorFacts:
    return CollaboratorFacts(
        id=collaborator.id, listed_at=collaborator.listed_at, status=collaborator.status
    )
