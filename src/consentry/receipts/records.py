"""A user's consent decisions as signed ISO/IEC TS 27560 consent records (DPV JSON-LD).

The JSON-LD context is ours (W3C publishes none for the 27560 profile): it ships in the package,
the service serves it at ``CONTEXT_PATH``, and every record carries it inline so that it parses
offline, byte for byte what was signed. The signature is detached: Ed25519, by the platform's
signing key (the one that signs delivery manifests), over the record's canonical JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from consentry.domain import dpv
from consentry.pipeline.keys import key_id, public_key_pem
from consentry.pipeline.manifest import canonical_json
from consentry.store import receipts as store
from consentry.store.models import ConsentEvent

CONTEXT_FILE = Path(__file__).resolve().parent / "context.jsonld"
CONTEXT_PATH = "/receipts/context.jsonld"
RECEIPTS_PATH = "/api/me/consent-receipts"
ALGORITHM = "Ed25519"


@lru_cache
def context_document() -> dict[str, Any]:
    """The shipped context file as served (``{"@context": {...}}``)."""
    document: dict[str, Any] = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))
    return document


def inline_context() -> dict[str, Any]:
    context: dict[str, Any] = context_document()["@context"]
    return context


@dataclass(frozen=True)
class ReceiptSummary:
    event_id: int
    purpose: str
    collaborator_id: str | None
    decision: str
    consent_status: str
    effective_at: datetime
    recorded_at: datetime
    url: str


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def record_iri(base_url: str, event_id: int) -> str:
    return f"{_base(base_url)}{RECEIPTS_PATH}/{event_id}"


def list_receipts(session: Session, *, account_id: str, base_url: str) -> list[ReceiptSummary]:
    """One receipt per consent decision of the account, in ledger order."""
    store.get_account(session, account_id=account_id)
    out = []
    last: dict[tuple[str, str | None], str] = {}
    for event in store.events_of_account(session, account_id=account_id):
        scope = (event.purpose, event.collaborator_id)
        out.append(
            ReceiptSummary(
                event_id=event.id,
                purpose=event.purpose,
                collaborator_id=event.collaborator_id,
                decision=event.decision,
                consent_status=dpv.consent_status(event.decision, last.get(scope)),
                effective_at=event.effective_at,
                recorded_at=event.recorded_at,
                url=record_iri(base_url, event.id),
            )
        )
        last[scope] = event.decision
    return out


def _facts(
    session: Session, event: ConsentEvent, *, base_url: str, controller_name: str
) -> dpv.ConsentRecordFacts:
    account = store.get_account(session, account_id=event.account_id)
    collaborator = None
    listed: tuple[dpv.Party, ...] = ()
    if event.collaborator_id is not None:
        row = store.get_collaborator_or_none(session, collaborator_id=event.collaborator_id)
        collaborator = (
            dpv.Party(row.id, row.name, row.listed_at)
            if row
            else dpv.Party(event.collaborator_id, event.collaborator_id)
        )
    else:
        listed = tuple(
            dpv.Party(c.id, c.name, c.listed_at)
            for c in store.collaborators_listed_by(session, moment=event.effective_at)
        )
    notices: tuple[dpv.NoticeShown, ...] = ()
    if event.policy_version is not None:
        notices = tuple(
            dpv.NoticeShown(n.id, n.policy_version, n.kind, n.surface, n.shown_at)
            for n in store.notices_before(
                session,
                account_id=event.account_id,
                policy_version=event.policy_version,
                moment=event.recorded_at,
            )
        )
    return dpv.ConsentRecordFacts(
        record_iri=record_iri(base_url, event.id),
        event_id=event.id,
        account_id=event.account_id,
        jurisdiction=account.jurisdiction,
        purpose=event.purpose,
        decision=event.decision,
        previous_decision=store.previous_decision(session, event=event),
        source=event.source,
        policy_version=event.policy_version,
        effective_at=event.effective_at,
        recorded_at=event.recorded_at,
        ledger_hash=event.hash,
        prev_hash=event.prev_hash,
        controller_iri=_base(base_url) + "/",
        controller_name=controller_name,
        collaborator=collaborator,
        listed_collaborators=listed,
        notices=notices,
    )


def consent_record(
    session: Session, *, account_id: str, event_id: int, base_url: str, controller_name: str
) -> dict[str, Any]:
    """The account's own event as a 27560 record; another account's event is NotFound."""
    event = store.event_of_account(session, account_id=account_id, event_id=event_id)
    facts = _facts(session, event, base_url=base_url, controller_name=controller_name)
    return dpv.consent_record(facts, inline_context())


@dataclass(frozen=True)
class Signature:
    algorithm: str
    key_id: str
    public_key_pem: str
    value: str
    """Base64 of the Ed25519 signature of the record's canonical JSON."""


def sign_record(record: dict[str, Any], key: Ed25519PrivateKey) -> Signature:
    value = base64.b64encode(key.sign(canonical_json(record))).decode("ascii")
    return Signature(ALGORITHM, key_id(key.public_key()), public_key_pem(key), value)


def signature_is_valid(
    record: dict[str, Any], signature_b64: str, public_key: Ed25519PublicKey
) -> bool:
    """Does the detached signature match this record (as parsed from the download)?"""
    try:
        public_key.verify(
            base64.b64decode(signature_b64.strip(), validate=True), canonical_json(record)
        )
    except (InvalidSignature, binascii.Error):
        return False
    return True
