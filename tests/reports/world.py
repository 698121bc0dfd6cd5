"""The service tests' small platform with something in every report: GPC signals, a later yes,
notices served before and after the policy took effect, two billed deliveries with a creators'
share, a deleted account whose records were noticed (one notice acknowledged), and a request to
know."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from consentry.pipeline.propagate import propagate
from consentry.revenue.billing import bill_pending
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.ledger import append_audit_event
from consentry.store.models import Account, DeletionNotice, License, NoticeServed
from consentry.store.notices import acknowledge_notice
from service.world import seed_deliveries, seed_world


def seed_reporting_world(engine: Engine, root: Path) -> None:
    seed_world(engine)
    with session_scope(engine) as session:
        acme = session.get(License, "lic-acme")
        acme.price_model, acme.price_minor, acme.creator_share_bp = "per_record", 150, 2_000
        for account, when in (("ada", 20), ("bob", 21)):
            session.add(
                NoticeServed(
                    account_id=account,
                    policy_version="v1",
                    kind="notice",
                    surface="settings",
                    shown_at=datetime(2024, 10, when, tzinfo=UTC),
                )
            )
        session.add(
            NoticeServed(
                account_id="nia",
                policy_version="v1",
                kind="change_banner",
                surface="settings",
                shown_at=datetime(2024, 12, 1, tzinfo=UTC),
            )
        )
        for account, decision, source, day in (
            ("bob", "deny", "gpc", 1),
            ("cy", "deny", "gpc", 2),
            ("cy", "allow", "settings", 3),
            ("nia", "allow", "settings", 4),
        ):
            record_consent(
                session,
                account_id=account,
                purpose="train_ai_system",
                decision=decision,
                source=source,
                actor="test",
                effective_at=datetime(2025, 2, day, tzinfo=UTC),
            )
        append_audit_event(
            session,
            actor="platform:backend",
            action="account.shared_records",
            object_type="account",
            object_id="ada",
            details={},
        )
    seed_deliveries(engine, root)
    bill_pending(engine, home=root)
    with session_scope(engine) as session:
        session.get(Account, "cy").deleted_at = datetime.now(UTC)
    propagate(engine, account_ids=["cy"])
    with session_scope(engine) as session:
        notice = session.scalars(
            select(DeletionNotice).where(DeletionNotice.collaborator_id == "acme")
        ).one()
        acknowledge_notice(
            session, notice_id=notice.id, collaborator_id="acme", acknowledgement={}, actor="test"
        )
