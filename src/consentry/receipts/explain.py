"""Why a delivered record was delivered: the consent event or policy default it rests on, the
policy in force at the cut-off, the collaborator as users knew it, and whether the ledger's hash
chain still holds up to that event.

One function (``explain``) serves ``consentry explain`` and the admin page alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from consentry.domain.consent import policies_in_force
from consentry.domain.jurisdiction import resolve_default
from consentry.domain.types import DefaultRule, PolicyFacts
from consentry.store import receipts as store
from consentry.store.deliveries import get_delivery
from consentry.store.ledger import ChainReport, verify_consent_chain, verify_consent_chain_to
from consentry.store.models import ConsentEvent
from consentry.store.parties import get_collaborator, get_license
from consentry.store.snapshot import load_reference


@dataclass(frozen=True)
class EventBasis:
    id: int
    decision: str
    source: str
    collaborator_id: str | None
    """None: the choice is for all collaborators (the master switch)."""
    effective_at: datetime
    recorded_at: datetime
    policy_version: str | None
    hash: str


@dataclass(frozen=True)
class DefaultBasis:
    policy_version: str
    default: str
    jurisdiction_key: str | None
    """The policy's key that matched the account's jurisdiction (None: the version names none)."""


@dataclass(frozen=True)
class PolicyInForce:
    version: str
    published_at: datetime
    effective_at: datetime
    notice_days: int
    default: str
    jurisdiction_key: str | None


@dataclass(frozen=True)
class Explanation:
    delivery_id: str
    license_id: str
    purpose: str
    kind: str
    status: str
    cutoff: datetime
    as_of: datetime
    """When the export read the ledger (the delivery's start): the rule's second moment."""
    collaborator_id: str
    collaborator_name: str
    listed_at: datetime
    post_id: str
    record_pseudonym: str
    account_id: str
    jurisdiction: str
    event: EventBasis | None
    default: DefaultBasis | None
    missing_event_id: int | None
    """The basis event named by the membership but no longer in the ledger."""
    policy: PolicyInForce | None
    chain: ChainReport
    chain_scope: str
    """What the chain check covered, in words."""

    @property
    def chain_intact(self) -> bool:
        return self.chain.ok

    @property
    def chain_words(self) -> str:
        if self.chain.first_break is None:
            return f"intact ({self.chain.checked} events checked, {self.chain_scope})"
        broken = self.chain.first_break
        return (
            f"BROKEN at consent event {broken.event_id}: {broken.problem} "
            f"({self.chain_scope}); the ledger was changed behind the code's back, so this "
            "receipt cannot be trusted until the ledger is restored from a backup"
        )

    @property
    def basis_words(self) -> str:
        if self.event is not None:
            e = self.event
            who = f"collaborator {e.collaborator_id}" if e.collaborator_id else "all collaborators"
            return (
                f"consent event {e.id}: {e.decision} for {who}, source {e.source}, "
                f"effective {e.effective_at.isoformat()}, recorded {e.recorded_at.isoformat()}"
                + (f", under policy {e.policy_version}" if e.policy_version else "")
            )
        if self.default is not None:
            d = self.default
            key = d.jurisdiction_key or "no key (counts as opt_in)"
            return f"policy default: version {d.policy_version}, {d.default}, jurisdiction {key}"
        if self.missing_event_id is not None:
            return f"consent event {self.missing_event_id}, which is missing from the ledger"
        return "none recorded"

    @property
    def policy_words(self) -> str:
        p = self.policy
        if p is None:
            return "none at the cut-off (nothing may be shared without a version in force)"
        return (
            f"{p.version} (effective {p.effective_at.isoformat()}, notice {p.notice_days} days): "
            f"{p.default} for {p.jurisdiction_key or 'no matching key, so opt_in'}"
        )

    def summary(self) -> list[tuple[str, str]]:
        """Label and words, in the order the CLI and the admin page show them."""
        return [
            (
                "record",
                f"{self.record_pseudonym} (post {self.post_id}, account {self.account_id}, "
                f"{self.jurisdiction})",
            ),
            (
                "delivery",
                f"{self.delivery_id}: {self.kind} under {self.license_id} ({self.purpose}), "
                f"{self.status}",
            ),
            ("cut-off", self.cutoff.isoformat()),
            ("as of", f"{self.as_of.isoformat()} (when the export read the ledger)"),
            (
                "collaborator",
                f"{self.collaborator_id} ({self.collaborator_name}), listed to users "
                f"{self.listed_at.isoformat()}",
            ),
            ("basis", self.basis_words),
            ("policy in force", self.policy_words),
            ("ledger", self.chain_words),
        ]

    def as_json(self) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "delivery": {
                "id": self.delivery_id,
                "license_id": self.license_id,
                "purpose": self.purpose,
                "kind": self.kind,
                "status": self.status,
                "cutoff": when(self.cutoff),
                "as_of": when(self.as_of),
            },
            "collaborator": {
                "id": self.collaborator_id,
                "name": self.collaborator_name,
                "listed_at": when(self.listed_at),
            },
            "record": {
                "post_id": self.post_id,
                "record_pseudonym": self.record_pseudonym,
                "account_id": self.account_id,
                "jurisdiction": self.jurisdiction,
            },
            "basis": (
                {
                    "kind": "event",
                    "event_id": self.event.id,
                    "decision": self.event.decision,
                    "source": self.event.source,
                    "collaborator_id": self.event.collaborator_id,
                    "effective_at": when(self.event.effective_at),
                    "recorded_at": when(self.event.recorded_at),
                    "policy_version": self.event.policy_version,
                    "hash": self.event.hash,
                }
                if self.event
                else {
                    "kind": "policy_default",
                    "policy_version": self.default.policy_version,
                    "default": self.default.default,
                    "jurisdiction_key": self.default.jurisdiction_key,
                }
                if self.default
                else {"kind": "missing_event", "event_id": self.missing_event_id}
            ),
            "policy_in_force": (
                {
                    "version": self.policy.version,
                    "published_at": when(self.policy.published_at),
                    "effective_at": when(self.policy.effective_at),
                    "notice_days": self.policy.notice_days,
                    "default": self.policy.default,
                    "jurisdiction_key": self.policy.jurisdiction_key,
                }
                if self.policy
                else None
            ),
            "chain": {
                "intact": self.chain.ok,
                "checked": self.chain.checked,
                "scope": self.chain_scope,
                "first_break": (
                    {
                        "event_id": self.chain.first_break.event_id,
                        "problem": self.chain.first_break.problem,
                    }
                    if self.chain.first_break
                    else None
                ),
            },
        }


def _event_basis(event: ConsentEvent) -> EventBasis:
    return EventBasis(
        id=event.id,
        decision=event.decision,
        source=event.source,
        collaborator_id=event.collaborator_id,
        effective_at=event.effective_at,
        recorded_at=event.recorded_at,
        policy_version=event.policy_version,
        hash=event.hash,
    )


def _policy_in_force(
    policies: Sequence[PolicyFacts],
    *,
    purpose: str,
    jurisdiction: str,
    cutoff: datetime,
    as_of: datetime,
) -> PolicyInForce | None:
    in_force = policies_in_force(policies, purpose=purpose, moment=cutoff, as_of=as_of)
    if not in_force:
        return None
    current = in_force[-1]
    resolved = resolve_default(current.defaults, jurisdiction)
    key, default = resolved if resolved else (None, DefaultRule.OPT_IN)
    return PolicyInForce(
        version=current.version,
        published_at=current.published_at,
        effective_at=current.effective_at,
        notice_days=current.notice_days,
        default=default.value,
        jurisdiction_key=key,
    )


def explain(session: Session, *, delivery_id: str, record: str) -> Explanation:
    """Why ``record`` (its pseudonym as delivered, or the post id) is in ``delivery_id``."""
    delivery = get_delivery(session, delivery_id)
    member = store.delivered_record(session, delivery_id=delivery_id, record=record)
    license = get_license(session, delivery.license_id)
    collaborator = get_collaborator(session, delivery.collaborator_id)
    account = store.get_account(session, account_id=member.account_id)
    policies = load_reference(session).policies  # the rule's inputs come from one reader
    policy = _policy_in_force(
        policies,
        purpose=license.purpose,
        jurisdiction=account.jurisdiction,
        cutoff=delivery.cutoff,
        as_of=delivery.started_at,
    )
    event = default = missing = None
    if member.basis_event_id is not None:
        row = session.get(ConsentEvent, member.basis_event_id)
        event = _event_basis(row) if row is not None else None
        missing = None if row is not None else member.basis_event_id
        chain = verify_consent_chain_to(session, event_id=member.basis_event_id)
        scope = f"from genesis to event {member.basis_event_id}"
    else:
        if member.basis_policy_version is not None:
            key = policy.jurisdiction_key if policy else None
            if policy is None or policy.version != member.basis_policy_version:
                facts = [
                    p
                    for p in policies
                    if p.version == member.basis_policy_version and license.purpose in p.purposes
                ]
                found = resolve_default(facts[0].defaults, account.jurisdiction) if facts else None
                key = found[0] if found else None
            default = DefaultBasis(
                member.basis_policy_version, member.basis_default or "unknown", key
            )
        # No event to stop at: check the whole chain, so an erased choice would show.
        chain = verify_consent_chain(session)
        scope = "the whole ledger, genesis to head"
    return Explanation(
        delivery_id=delivery.id,
        license_id=delivery.license_id,
        purpose=license.purpose,
        kind=delivery.kind,
        status=delivery.status,
        cutoff=delivery.cutoff,
        as_of=delivery.started_at,
        collaborator_id=collaborator.id,
        collaborator_name=collaborator.name,
        listed_at=collaborator.listed_at,
        post_id=member.post_id,
        record_pseudonym=member.record_pseudonym,
        account_id=member.account_id,
        jurisdiction=account.jurisdiction,
        event=event,
        default=default,
        missing_event_id=missing,
        policy=policy,
        chain=chain,
        chain_scope=scope,
    )
