"""``consentry collaborator add --listed-at``: when users are first shown a collaborator (DESIGN
rule 6), stored, audited and listed."""

from __future__ import annotations

from datetime import UTC, datetime

from cli.conftest import Run
from consentry.settings import get_settings
from consentry.store.db import get_engine, session_scope
from consentry.store.ledger import audit_events
from consentry.store.parties import get_collaborator


def test_the_listing_time_is_stored_in_utc_audited_and_listed(cli: Run) -> None:
    added = cli(
        "collaborator",
        "add",
        "acme",
        "--name",
        "Acme AI",
        "--country",
        "US",
        "--listed-at",
        "2025-02-01T09:00:00+01:00",
    )
    assert "listed to users from 2025-02-01T08:00:00+00:00" in added.output
    with session_scope(get_engine(get_settings())) as session:
        listed_at = get_collaborator(session, "acme").listed_at
        [event] = audit_events(session, action="collaborator.add")
    assert listed_at == datetime(2025, 2, 1, 8, tzinfo=UTC)
    assert event.details["listed_at"] == "2025-02-01T08:00:00+00:00"
    assert "2025-02-01 08:00" in cli("collaborator", "list").output


def test_without_a_listing_time_the_collaborator_is_listed_now(cli: Run) -> None:
    before = datetime.now(UTC)
    cli("collaborator", "add", "acme", "--name", "Acme AI", "--country", "US")
    with session_scope(get_engine(get_settings())) as session:
        listed_at = get_collaborator(session, "acme").listed_at
    assert before <= listed_at <= datetime.now(UTC)


def test_a_listing_time_without_a_zone_is_refused(cli: Run) -> None:
    refused = cli(
        "collaborator",
        "add",
        "acme",
        "--name",
        "Acme AI",
        "--country",
        "US",
        "--listed-at",
        "2025-02-01T09:00",
        ok=False,
    )
    assert refused.exit_code == 2
    assert "no time zone" in refused.output and "--listed-at" in refused.output
