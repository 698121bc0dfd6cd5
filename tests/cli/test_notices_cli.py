"""``consentry notices``: list and filter, show a notice's records, acknowledge on the
collaborator's behalf (once, with shard hashes, audited), overdue, propagate a withdrawal, and
``consentry collaborator webhook add`` + ``notices webhooks --run`` to a verifying receiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cli.conftest import Run
from consentry.service.background import running
from consentry.settings import get_settings
from consentry.store.consent import record_consent
from consentry.store.db import get_engine, session_scope
from consentry.store.ledger import audit_events
from consentry.store.notices import get_notice
from service.notices_world import issue
from service.test_webhooks import Receiver
from service.world import seed_deliveries, seed_world

SHA = "cd" * 32


@pytest.fixture
def world(cli: Run, tmp_path: Path) -> Engine:
    engine = get_engine(get_settings())
    seed_world(engine)
    seed_deliveries(engine, tmp_path / "deliveries")
    return engine


def test_list_filters_by_collaborator_and_status_and_show_prints_the_records(
    cli: Run, world: Engine
) -> None:
    acme = issue(world, "d-acme-1", ["bob-1", "cy-1"])
    bolt = issue(world, "d-bolt-1")
    listed = cli("notices", "list", "--collaborator", "acme").output
    assert "lic-acme" in listed and "lic-bolt" not in listed
    assert "lic-bolt" in cli("notices", "list", "--status", "issued").output
    assert "lic-" not in cli("notices", "list", "--status", "acknowledged").output
    bad = cli("notices", "list", "--status", "late", ok=False)
    assert bad.exit_code == 1 and "issued, acknowledged" in bad.output
    shown = cli("notices", "show", str(acme)).output
    assert "r-d-acme-1-bob-1" in shown and "r-d-acme-1-cy-1" in shown and "bob-1" in shown
    assert "r-d-bolt-1" not in shown
    assert cli("notices", "show", "999", ok=False).exit_code == 1
    assert bolt


def test_ack_on_behalf_records_shard_hashes_once_and_is_audited(cli: Run, world: Engine) -> None:
    notice_id = issue(world, "d-acme-1", ["bob-1"])
    wrong = cli(
        "notices", "ack", str(notice_id), "--shard", "d-acme-1:part-00000.parquet:xyz", ok=False
    )
    assert wrong.exit_code == 1 and "DELIVERY:NAME:SHA256" in wrong.output
    other = cli(
        "notices", "ack", str(notice_id), "--shard", f"d-bolt-1:part-00000.parquet:{SHA}", ok=False
    )
    assert other.exit_code == 1 and "not one this notice names" in other.output
    cli(
        "notices",
        "ack",
        str(notice_id),
        "--note",
        "by email",
        "--shard",
        f"d-acme-1:part-00000.parquet:{SHA}",
    )
    again = cli("notices", "ack", str(notice_id), ok=False)
    assert again.exit_code == 1 and "already acknowledged" in again.output
    shown = cli("notices", "show", str(notice_id)).output
    assert SHA in shown and "by email" in shown
    with session_scope(world) as session:
        assert get_notice(session, notice_id).acknowledgement == {
            "shards": [{"delivery_id": "d-acme-1", "name": "part-00000.parquet", "sha256": SHA}],
            "note": "by email",
            "by": "cli",
        }
        [event] = audit_events(session, action="notice.ack")
        assert event.actor == "cli"


def test_overdue_lists_only_issued_notices_past_their_due_time(cli: Run, world: Engine) -> None:
    assert "no overdue" in cli("notices", "overdue").output
    long_ago = datetime.now(UTC) - timedelta(days=40)
    late = issue(world, "d-acme-1", ["bob-1"], issued_at=long_ago, sla_days=30)
    acked = issue(world, "d-acme-1", ["bob-2"], issued_at=long_ago, sla_days=30)
    issue(world, "d-acme-1", ["cy-1"])  # due in 30 days
    cli("notices", "ack", str(acked))
    rows = [line for line in cli("notices", "overdue").output.splitlines() if "lic-acme" in line]
    assert len(rows) == 1 and rows[0].split()[1] == str(late)


def test_propagate_issues_a_notice_for_a_withdrawal_and_prints_its_summary(
    cli: Run, world: Engine
) -> None:
    with session_scope(world) as session:
        record_consent(
            session,
            account_id="cy",
            purpose="train_ai_system",
            decision="deny",
            source="settings",
            actor="user:cy",
        )
    first = cli("notices", "propagate", "--account", "cy").output
    assert "2 deletion notices issued (2 consent_withdrawn)" in first
    again = cli("notices", "propagate", "--account", "cy").output
    assert "0 deletion notices issued" in again


def test_a_registered_webhook_receives_a_verified_event_from_webhooks_run(
    cli: Run, world: Engine
) -> None:
    hook = Receiver()
    with running(hook.app()) as url:
        added = cli("collaborator", "webhook", "add", "acme", f"{url}/hooks").output
        hook.secret = next(w for w in added.split() if w.startswith("whsec_"))
        assert hook.secret not in cli("collaborator", "webhook", "list", "acme").output
        notice_id = issue(world, "d-acme-1")
        assert "1 webhook attempts are due" in cli("notices", "webhooks").output
        sent = cli("notices", "webhooks", "--run").output
    assert "1 webhook events delivered" in sent
    assert hook.refused == []
    assert [event["data"]["id"] for _, event in hook.received] == [notice_id]  # type: ignore[index]
    assert "204" in cli("notices", "show", str(notice_id)).output
