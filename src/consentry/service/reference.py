"""Policies, collaborators and licenses as the consent rule needs them, cached per process.

They change rarely and every change of them is audited, so the cache is keyed by the audit
chain's head: one indexed read per request tells whether anything may have changed. Consent
events are never cached; a withdrawal counts from the next request on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from consentry.domain.types import LicenseFacts, PolicyFacts
from consentry.errors import InvalidInput, NotFound
from consentry.store.ledger import AUDIT_CHAIN
from consentry.store.models import Collaborator, LedgerHead, License, Purpose
from consentry.store.parties import license_facts
from consentry.store.policies import policy_facts


@dataclass(frozen=True)
class TermedLicense:
    facts: LicenseFacts
    term_start: datetime
    term_end: datetime | None


@dataclass(frozen=True)
class Reference:
    policies: list[PolicyFacts]
    collaborator_status: dict[str, str]
    purposes: frozenset[str]
    licenses: dict[tuple[str, str], list[TermedLicense]] = field(default_factory=dict)
    """Active licenses by (collaborator, purpose), in id order."""

    def licenses_for(self, collaborator_id: str, purpose: str, now: datetime) -> list[LicenseFacts]:
        """The licenses under which the collaborator may receive data for the purpose now."""
        if self.collaborator_status.get(collaborator_id) != "active":
            return []
        return [
            lic.facts
            for lic in self.licenses.get((collaborator_id, purpose), [])
            if lic.term_start <= now and (lic.term_end is None or now < lic.term_end)
        ]

    def check(self, *, collaborator_id: str, purpose: str) -> None:
        """Refuse a question naming a collaborator or purpose that does not exist."""
        if collaborator_id not in self.collaborator_status:
            raise NotFound("collaborator", collaborator_id)
        if purpose not in self.purposes:
            raise InvalidInput(
                f"unknown purpose {purpose!r}; known: {sorted(self.purposes)}", field="purpose"
            )


def load_reference(session: Session) -> Reference:
    licenses: dict[tuple[str, str], list[TermedLicense]] = {}
    for lic in session.scalars(
        select(License).where(License.status == "active").order_by(License.id)
    ):
        licenses.setdefault((lic.collaborator_id, lic.purpose), []).append(
            TermedLicense(license_facts(lic), lic.term_start, lic.term_end)
        )
    return Reference(
        policies=policy_facts(session),
        collaborator_status=dict(
            session.execute(select(Collaborator.id, Collaborator.status)).all()
        ),
        purposes=frozenset(session.scalars(select(Purpose.key))),
        licenses=licenses,
    )


AUDIT_HEAD = select(LedgerHead.last_id).where(LedgerHead.chain == AUDIT_CHAIN)


class ReferenceCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marker: int | None = None
        self._reference: Reference | None = None

    def get(self, conn: Connection) -> Reference:
        marker = conn.scalar(AUDIT_HEAD)
        with self._lock:
            if self._reference is not None and marker == self._marker:
                return self._reference
        # Loaded after the marker was read, so it is at least as new as the marker says.
        with Session(bind=conn) as session:
            reference = load_reference(session)
        with self._lock:
            self._marker, self._reference = marker, reference
        return reference
