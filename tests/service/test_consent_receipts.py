"""Each consent decision of a user is downloadable as a signed ISO/IEC TS 27560 consent record
in DPV terms, that parses as JSON-LD offline; nobody gets another user's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import rdflib
from rdflib import RDF, URIRef
from sqlalchemy import Engine

from consentry.pipeline.keys import signing_key
from consentry.pipeline.manifest import canonical_json
from consentry.receipts.records import signature_is_valid
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.models import NoticeServed
from service.world import Service, sign_in

DPV = rdflib.Namespace("https://w3id.org/dpv#")
LOC = rdflib.Namespace("https://w3id.org/dpv/loc#")
CS = rdflib.Namespace("urn:consentry:term:")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")


def _choices(engine: Engine) -> dict[str, int]:
    """bob: allow all, deny acme, allow acme, deny all; ada: allow acme. Bob saw v1 first."""
    with session_scope(engine) as session:
        session.add(
            NoticeServed(
                account_id="bob",
                policy_version="v1",
                kind="notice",
                surface="settings_page",
                shown_at=datetime(2024, 11, 1, tzinfo=UTC),
            )
        )
        ids = {}
        for name, account, decision, collaborator in (
            ("bob_all_on", "bob", "allow", None),
            ("bob_acme_off", "bob", "deny", "acme"),
            ("bob_acme_on", "bob", "allow", "acme"),
            ("bob_all_off", "bob", "deny", None),
            ("ada_acme_on", "ada", "allow", "acme"),
        ):
            ids[name] = record_consent(
                session,
                account_id=account,
                purpose="train_ai_system",
                decision=decision,
                source="settings",
                actor=f"user:{account}",
                collaborator_id=collaborator,
                policy_version="v1",
                effective_at=datetime(2024, 11, 20 + len(ids), tzinfo=UTC),
            ).id
    return ids


def _graph(record: dict) -> rdflib.Graph:
    # The context is inline: parsing needs no network.
    return rdflib.Graph().parse(data=json.dumps(record), format="json-ld")


def test_a_receipt_is_a_dpv_consent_record_signed_by_the_platform(
    service: Service, world: Engine
) -> None:
    ids = _choices(world)
    with sign_in(service, "bob") as client:
        listing = client.get("/api/me/consent-receipts")
        assert listing.status_code == 200, listing.text
        items = listing.json()["receipts"]
        assert [i["event_id"] for i in items] == [
            ids[k] for k in ("bob_all_on", "bob_acme_off", "bob_acme_on", "bob_all_off")
        ]
        assert [i["consent_status"] for i in items] == [
            "dpv:ConsentGiven",
            "dpv:ConsentRefused",  # a deny with no earlier allow for acme alone
            "dpv:ConsentGiven",
            "dpv:ConsentWithdrawn",  # the master switch turned off after it was on
        ]
        signed = client.get(f"/api/me/consent-receipts/{ids['bob_acme_on']}").json()

    record, signature = signed["record"], signed["signature"]
    graph = _graph(record)
    subject = URIRef(record["@id"])
    assert (subject, RDF.type, DPV.ConsentRecord) in graph
    assert (subject, DCT.identifier, rdflib.Literal(f"consent-event-{ids['bob_acme_on']}")) in graph
    assert (subject, DPV.hasConsentStatus, DPV.ConsentGiven) in graph
    assert (subject, DPV.hasJurisdiction, LOC["US-CA"]) in graph
    data_subject = graph.value(subject, DPV.hasDataSubject)
    assert (data_subject, DCT.identifier, rdflib.Literal("bob")) in graph
    assert graph.value(subject, DPV.hasDataController) is not None
    indicated = graph.value(subject, DPV.isIndicatedAtTime)
    assert indicated is not None and indicated.toPython() == datetime(2024, 11, 22, tzinfo=UTC)
    process = graph.value(subject, DPV.hasProcess)
    purposes = set(graph.objects(process, DPV.hasPurpose))
    assert DPV.ResearchAndDevelopment in purposes
    assert any(
        (p, CS.fideslangDataUse, rdflib.Literal("train_ai_system")) in graph for p in purposes
    )
    recipients = list(graph.objects(process, DPV.hasRecipient))
    assert recipients == [URIRef("urn:consentry:collaborator:acme")]
    assert (recipients[0], URIRef("https://schema.org/name"), rdflib.Literal("Acme AI")) in graph
    notices = list(graph.objects(subject, DPV.hasNotice))
    assert len(notices) == 1 and (notices[0], RDF.type, DPV.ConsentNotice) in graph
    assert graph.value(subject, CS.ledgerHash) is not None

    # Verified with the platform's key as known from elsewhere, not the one the receipt names.
    trusted = signing_key(service.settings.home).public_key()
    assert signature_is_valid(record, signature["value"], trusted)
    record["dpv:hasConsentStatus"] = "dpv:ConsentRefused"
    assert not signature_is_valid(record, signature["value"], trusted)


def test_the_jsonld_download_and_its_detached_signature(service: Service, world: Engine) -> None:
    ids = _choices(world)
    event = ids["bob_all_on"]
    with sign_in(service, "bob") as client:
        body = client.get(f"/api/me/consent-receipts/{event}.jsonld")
        sig = client.get(f"/api/me/consent-receipts/{event}.sig")
        served_context = client.get("/receipts/context.jsonld")
    assert body.status_code == 200 and body.headers["content-type"] == "application/ld+json"
    record = json.loads(body.content)
    assert canonical_json(record) == body.content  # the bytes are what was signed
    assert signature_is_valid(record, sig.text, signing_key(service.settings.home).public_key())
    assert served_context.json()["@context"] == record["@context"]
    graph = _graph(record)
    process = graph.value(URIRef(record["@id"]), DPV.hasProcess)
    recipients = set(graph.objects(process, DPV.hasRecipient))
    # The master switch: every collaborator, and by name those listed when it took effect.
    assert URIRef("urn:consentry:collaborators:all") in recipients
    assert URIRef("urn:consentry:collaborator:acme") in recipients


@pytest.mark.parametrize("suffix", ["", ".jsonld", ".sig"])
def test_a_user_cannot_fetch_another_users_receipt(
    service: Service, world: Engine, suffix: str
) -> None:
    ids = _choices(world)
    with sign_in(service, "bob") as client:
        theirs = client.get(f"/api/me/consent-receipts/{ids['ada_acme_on']}{suffix}")
        missing = client.get(f"/api/me/consent-receipts/999999{suffix}")
        listing = client.get("/api/me/consent-receipts").json()["receipts"]
    assert theirs.status_code == 404 and missing.status_code == 404
    assert theirs.json()["detail"] == missing.json()["detail"].replace(
        "999999", str(ids["ada_acme_on"])
    )
    assert ids["ada_acme_on"] not in [r["event_id"] for r in listing]
    with service.client() as anonymous:
        assert anonymous.get(f"/api/me/consent-receipts/{ids['bob_all_on']}").status_code == 401
