"""A consent event as an ISO/IEC TS 27560 consent record in W3C DPV terms (pure: no I/O).

The record follows the DPV guide's ``#record`` profile: identifier, data subject, controller,
jurisdiction, the process (purpose, recipients), the consent status with the time it was
indicated, the notices shown before it, and our ledger's hash so the record can be checked
against the hash chain. Terms DPV has no word for (the fideslang key, the ledger's fields) are
``consentry:`` terms, a URN namespace that claims no web domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DPV = "https://w3id.org/dpv#"
LOC = "https://w3id.org/dpv/loc#"
CONSENTRY = "urn:consentry:term:"
RECORD_PROFILE = "https://w3id.org/dpv/schema/dpv-27560#record"
"""What the record conforms to (``dct:conformsTo``): the DPV 27560 guide's consent record."""

PURPOSES: dict[str, str | None] = {
    "train_ai_system": "dpv:ResearchAndDevelopment",
    "personalize": "dpv:ServicePersonalisation",
    "marketing.advertising": "dpv:Advertising",
    "third_party_sharing": None,
}
"""fideslang data use -> the DPV purpose that fits, where one does. DPV's AI extension names
techniques and risks, not purposes, so training AI models is DPV's research and development;
DPV has no purpose for "passing data on to third parties" (that is a recipient, not a why), so
that key gets no DPV purpose. The fideslang key is always kept beside it."""

GIVEN, WITHDRAWN, REFUSED = "dpv:ConsentGiven", "dpv:ConsentWithdrawn", "dpv:ConsentRefused"

BY_DATA_SUBJECT = frozenset({"settings", "api", "gpc", "import"})
"""Sources where the user indicated the choice (an import carries the user's own choices);
``admin`` and ``default`` are the controller's doing."""


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    listed_at: datetime | None = None


@dataclass(frozen=True)
class NoticeShown:
    id: int
    policy_version: str
    kind: str
    surface: str
    shown_at: datetime


@dataclass(frozen=True)
class ConsentRecordFacts:
    """What a consent record says, read from the ledger and the reference tables."""

    record_iri: str
    event_id: int
    account_id: str
    jurisdiction: str
    purpose: str
    decision: str
    previous_decision: str | None
    """The latest earlier decision of the same account for the same purpose and recipient
    (ledger order): a deny after an allow is a withdrawal, any other deny a refusal."""
    source: str
    policy_version: str | None
    effective_at: datetime
    recorded_at: datetime
    ledger_hash: str
    prev_hash: str
    controller_iri: str
    controller_name: str
    collaborator: Party | None
    """None: the choice is for every collaborator (the master switch)."""
    listed_collaborators: tuple[Party, ...] = ()
    """For a master choice: the collaborators listed when it took effect (DESIGN rule 6)."""
    notices: tuple[NoticeShown, ...] = ()


def consent_status(decision: str, previous_decision: str | None) -> str:
    if decision == "allow":
        return GIVEN
    return WITHDRAWN if previous_decision == "allow" else REFUSED


def purpose_iri(purpose: str) -> str | None:
    return PURPOSES.get(purpose)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def account_iri(account_id: str) -> str:
    return f"urn:consentry:account:{account_id}"


def collaborator_iri(collaborator_id: str) -> str:
    return f"urn:consentry:collaborator:{collaborator_id}"


ALL_COLLABORATORS = "urn:consentry:collaborators:all"


def _party(party: Party) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": collaborator_iri(party.id),
        "@type": ["dpv:Recipient", "dpv:ThirdParty"],
        "schema:name": party.name,
        "dct:identifier": party.id,
    }
    if party.listed_at is not None:
        node["consentry:listedAt"] = _time(party.listed_at)
    return node


def _recipients(facts: ConsentRecordFacts) -> list[dict[str, Any]]:
    if facts.collaborator is not None:
        return [_party(facts.collaborator)]
    every = {
        "@id": ALL_COLLABORATORS,
        "@type": ["dpv:Recipient", "dpv:ThirdParty"],
        "schema:name": "All collaborators (the platform's master switch)",
    }
    return [every, *(_party(p) for p in facts.listed_collaborators)]


def _purposes(purpose: str) -> list[Any]:
    ours = {
        "@id": f"urn:consentry:purpose:{purpose}",
        "@type": "dpv:Purpose",
        "consentry:fideslangDataUse": purpose,
    }
    mapped = purpose_iri(purpose)
    return [mapped, ours] if mapped else [ours]


def _notice(notice: NoticeShown) -> dict[str, Any]:
    return {
        "@id": f"urn:consentry:notice-served:{notice.id}",
        "@type": "dpv:ConsentNotice",
        "consentry:policyVersion": notice.policy_version,
        "consentry:noticeKind": notice.kind,
        "consentry:surface": notice.surface,
        "consentry:shownAt": _time(notice.shown_at),
    }


def consent_record(facts: ConsentRecordFacts, context: dict[str, Any]) -> dict[str, Any]:
    """The JSON-LD document of one consent record, with ``context`` inline (parses offline)."""
    record: dict[str, Any] = {
        "@context": context,
        "@id": facts.record_iri,
        "@type": "dpv:ConsentRecord",
        "dct:identifier": f"consent-event-{facts.event_id}",
        "dct:conformsTo": RECORD_PROFILE,
        "dct:created": _time(facts.recorded_at),
        "dpv:hasDataSubject": {
            "@id": account_iri(facts.account_id),
            "@type": "dpv:DataSubject",
            "dct:identifier": facts.account_id,
        },
        "dpv:hasDataController": {
            "@id": facts.controller_iri,
            "@type": "dpv:DataController",
            "schema:name": facts.controller_name,
        },
        "dpv:hasJurisdiction": f"loc:{facts.jurisdiction}",
        "dpv:hasProcess": {
            "@type": "dpv:Process",
            "dpv:hasPurpose": _purposes(facts.purpose),
            "dpv:hasRecipient": _recipients(facts),
        },
        "dpv:hasConsentStatus": consent_status(facts.decision, facts.previous_decision),
        "dpv:isIndicatedAtTime": _time(facts.effective_at),
        "dpv:isIndicatedBy": (
            account_iri(facts.account_id)
            if facts.source in BY_DATA_SUBJECT
            else facts.controller_iri
        ),
        "dpv:hasNotice": [_notice(n) for n in facts.notices],
        "consentry:ledgerEventId": facts.event_id,
        "consentry:decision": facts.decision,
        "consentry:source": facts.source,
        "consentry:effectiveAt": _time(facts.effective_at),
        "consentry:recordedAt": _time(facts.recorded_at),
        "consentry:ledgerHash": facts.ledger_hash,
        "consentry:previousLedgerHash": facts.prev_hash,
    }
    if facts.policy_version is not None:
        record["consentry:policyVersion"] = facts.policy_version
    return record
