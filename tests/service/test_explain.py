"""Every delivered record can be traced to what allowed it: `consentry explain` and the admin
page name the consent event or policy default, the policy in force, the collaborator, and check
the ledger's hash chain up to that event, naming the first broken event when it was edited."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from consentry.cli import app
from consentry.errors import NotFound
from consentry.receipts.explain import explain
from consentry.settings import get_settings
from consentry.store.consent import record_consent
from consentry.store.db import get_engine, session_scope
from consentry.store.models import DeliveryMember
from service.world import Service, seed_deliveries, seed_world, staff_signed_in

runner = CliRunner()


def _ada_delivered_on_her_allow(engine: Engine) -> list[int]:
    """ada (DE, opt-in) allows all, then acme; her post is in d-acme-1 on the acme allow."""
    with session_scope(engine) as session:
        ids = [
            record_consent(
                session,
                account_id="ada",
                purpose="train_ai_system",
                decision="allow",
                source="settings",
                actor="user:ada",
                collaborator_id=collaborator,
                policy_version="v1",
                effective_at=datetime(2024, 11, 20 + n, tzinfo=UTC),
            ).id
            for n, collaborator in enumerate((None, "acme"))
        ]
        session.add(
            DeliveryMember(
                delivery_id="d-acme-1",
                post_id="ada-1",
                account_id="ada",
                record_pseudonym="r-d-acme-1-ada-1",
                basis_event_id=ids[1],
            )
        )
    return ids


def _tamper(engine: Engine, event_id: int) -> None:
    """Edit an event behind the code's back, as someone with database access could."""
    if engine.dialect.name == "sqlite":
        # SQLite has no trigger: a raw UPDATE through the driver, no SQLAlchemy in the way.
        path = engine.url.database
        assert path is not None
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE consent_events SET decision = 'deny' WHERE id = ?", (event_id,))
        return
    with engine.begin() as conn:
        # The append-only trigger refuses the edit; a superuser must disable it to tamper.
        conn.execute(text("ALTER TABLE consent_events DISABLE TRIGGER USER"))
        conn.execute(
            text("UPDATE consent_events SET decision = 'deny' WHERE id = :id"), {"id": event_id}
        )


@pytest.mark.usefixtures("delivered")
def test_a_record_delivered_on_a_consent_event_is_explained_by_pseudonym_or_post_id(
    world: Engine,
) -> None:
    ids = _ada_delivered_on_her_allow(world)
    with session_scope(world) as session:
        by_pseudonym = explain(session, delivery_id="d-acme-1", record="r-d-acme-1-ada-1")
        by_post = explain(session, delivery_id="d-acme-1", record="ada-1")
    assert by_pseudonym == by_post
    found = by_post
    assert found.event is not None and found.default is None
    assert (found.event.id, found.event.decision, found.event.collaborator_id) == (
        ids[1],
        "allow",
        "acme",
    )
    assert found.event.source == "settings" and found.event.policy_version == "v1"
    assert found.policy is not None
    assert (found.policy.version, found.policy.default, found.policy.jurisdiction_key) == (
        "v1",
        "opt_in",
        "EU",
    )
    assert found.collaborator_name == "Acme AI" and found.listed_at.year == 2024
    assert found.cutoff == datetime(2025, 1, 1, tzinfo=UTC)
    assert found.chain_intact and found.chain.checked == ids[1]
    assert found.chain_words.startswith("intact")


@pytest.mark.usefixtures("delivered")
def test_a_record_delivered_on_a_policy_default_names_version_default_and_key(
    world: Engine,
) -> None:
    with session_scope(world) as session:
        found = explain(session, delivery_id="d-acme-1", record="bob-1")
    assert found.event is None and found.default is not None
    assert (found.default.policy_version, found.default.default) == ("v1", "opt_out")
    assert found.default.jurisdiction_key == "US"  # bob is in US-CA; the policy says US
    assert "policy default: version v1, opt_out, jurisdiction US" in found.basis_words
    assert found.chain_intact


@pytest.mark.usefixtures("delivered")
def test_an_edited_ledger_is_named_at_its_first_broken_event(world: Engine) -> None:
    ids = _ada_delivered_on_her_allow(world)
    _tamper(world, ids[0])  # the master allow, before the event the record rests on
    with session_scope(world) as session:
        found = explain(session, delivery_id="d-acme-1", record="ada-1")
    assert not found.chain_intact
    assert found.chain.first_break is not None
    assert found.chain.first_break.event_id == ids[0]
    assert found.chain_words.startswith(f"BROKEN at consent event {ids[0]}: content")


@pytest.mark.usefixtures("delivered")
def test_an_unknown_record_says_where_to_look(world: Engine) -> None:
    with (
        pytest.raises(NotFound, match="consentry deliveries show d-acme-1 --members"),
        session_scope(world) as session,
    ):
        explain(session, delivery_id="d-acme-1", record="nobody-1")


def test_the_command_explains_and_fails_when_the_chain_is_broken(
    consentry_home: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    engine = get_engine(get_settings())
    seed_world(engine)
    seed_deliveries(engine, tmp_path / "deliveries")
    ids = _ada_delivered_on_her_allow(engine)
    args = ["explain", "--delivery", "d-acme-1", "--record", "r-d-acme-1-ada-1"]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert f"consent event {ids[1]}: allow for collaborator acme" in ok.output
    assert "v1 (effective 2024-11-15" in ok.output and "intact" in ok.output
    as_json = runner.invoke(app, [*args, "--json"])
    assert '"kind": "event"' in as_json.output
    _tamper(engine, ids[0])
    broken = runner.invoke(app, args)
    assert broken.exit_code == 1
    assert f"BROKEN at consent event {ids[0]}" in broken.output


@pytest.mark.usefixtures("delivered", "staff")
def test_the_admin_page_explains_a_record_linked_from_its_delivery(
    service: Service, world: Engine
) -> None:
    ids = _ada_delivered_on_her_allow(world)
    with staff_signed_in(service, "victor") as client:
        delivery = client.get("/admin/deliveries/d-acme-1")
        assert 'action="/admin/deliveries/d-acme-1/records"' in delivery.text
        found = client.get(
            "/admin/deliveries/d-acme-1/records", params={"record": "ada-1"}, follow_redirects=True
        )
        assert found.status_code == 200, found.text
        assert f"Consent event {ids[1]}" in found.text and "intact" in found.text
        twin = client.get("/admin/deliveries/d-acme-1/records/ada-1.json").json()
        assert twin["basis"]["event_id"] == ids[1] and twin["chain"]["intact"] is True
        missing = client.get("/admin/deliveries/d-acme-1/records/nobody-1")
        assert missing.status_code == 404
        _tamper(world, ids[0])
        broken = client.get("/admin/deliveries/d-acme-1/records/ada-1")
        assert f"BROKEN at consent event {ids[0]}" in broken.text
