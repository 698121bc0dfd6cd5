"""After delivery: a record that stops being allowed is taken back by a deletion notice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from export_platform import Platform
from sqlalchemy import update
from typer.testing import CliRunner

from consentry.pipeline.export import run_export
from consentry.pipeline.propagate import propagate
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.deliveries import members_of
from consentry.store.models import Post
from consentry.store.notices import list_notices, records_of
from consentry.store.parties import set_collaborator_status


def _deliver(platform: Platform, out: Path, **kw: object) -> dict[str, str]:
    """Export nw-all; the delivered post ids and their record pseudonyms."""
    result = run_export(platform.engine, platform.settings, license_id="nw-all", out_dir=out, **kw)
    with session_scope(platform.engine) as session:
        return {m.post_id: m.record_pseudonym for m in members_of(session, result.delivery_id)}


def _taken_back(platform: Platform) -> dict[str, set[str]]:
    with session_scope(platform.engine) as session:
        return {
            f"{n.reason}": {r.post_id for r in records_of(session, n.id)}
            for n in list_notices(session)
        }


def test_a_withdrawal_after_delivery_takes_back_exactly_that_authors_records(
    platform: Platform, tmp_path: Path
) -> None:
    delivered = _deliver(platform, tmp_path / "d1", cutoff=platform.cutoff)
    mine = {p for p in delivered if p in ("p01", "p13")}
    assert mine == {"p01", "p13"}
    with session_scope(platform.engine) as session:
        record_consent(
            session,
            account_id="us_default",
            purpose="train_ai_system",
            decision="deny",
            source="settings",
            actor="user:us_default",
        )
    report = propagate(platform.engine, account_ids=["us_default"])
    assert report.records == {"consent_withdrawn": 2}
    with session_scope(platform.engine) as session:
        (notice,) = list_notices(session)
        records = records_of(session, notice.id)
        assert notice.collaborator_id == "northwind-ai" and notice.status == "issued"
        assert notice.due_at - notice.issued_at == timedelta(days=30)
        assert {(r.post_id, r.record_pseudonym) for r in records} == {
            (p, delivered[p]) for p in mine
        }
    again = propagate(platform.engine)
    assert again.notices == [] and again.records == {}


def test_a_deleted_post_is_taken_back_and_no_later_delivery_holds_it_again(
    platform: Platform, tmp_path: Path
) -> None:
    first = _deliver(platform, tmp_path / "d1", cutoff=platform.cutoff)
    assert "p08" in first
    with session_scope(platform.engine) as session:
        session.execute(update(Post).where(Post.id == "p08").values(deleted_at=datetime.now(UTC)))
    propagate(platform.engine)
    assert _taken_back(platform) == {"post_deleted": {"p08"}}
    # Bring it back (an import may not, but say it did): the notice still keeps it out.
    with session_scope(platform.engine) as session:
        session.execute(update(Post).where(Post.id == "p08").values(deleted_at=None))
    later = run_export(
        platform.engine,
        platform.settings,
        license_id="nw-all",
        out_dir=tmp_path / "d2",
        cutoff=platform.cutoff,
    )
    assert later.counts.withdrawn_after_delivery == 1
    assert later.counts.delivered == len(first) - 1


def test_a_terminated_collaborator_is_told_to_delete_everything_it_holds(
    platform: Platform, tmp_path: Path
) -> None:
    delivered = _deliver(platform, tmp_path / "d1", cutoff=platform.cutoff)
    with session_scope(platform.engine) as session:
        set_collaborator_status(session, id="northwind-ai", status="terminated", actor="test")
    report = propagate(platform.engine)
    assert report.records == {"collaborator_terminated": len(delivered)}
    assert _taken_back(platform) == {"collaborator_terminated": set(delivered)}


def test_an_imported_withdrawal_reaches_the_collaborator_as_a_notice(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``consentry import consent`` judges the touched accounts' deliveries again at once."""
    from consentry.cli import app
    from consentry.settings import get_settings

    _deliver(platform, tmp_path / "d1", cutoff=platform.cutoff)
    url = platform.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("CONSENTRY_DATABASE_URL", url)
    monkeypatch.setenv("CONSENTRY_HOME", str(platform.settings.home))
    get_settings.cache_clear()
    events = tmp_path / "withdrawals.jsonl"
    moment = datetime.now(UTC).isoformat()
    events.write_text(
        json.dumps(
            {
                "external_id": "w-1",
                "account_id": "de_yes",
                "purpose": "train_ai_system",
                "decision": "deny",
                "effective_at": moment,
            }
        )
        + "\n"
    )
    try:
        result = CliRunner().invoke(app, ["import", "consent", str(events)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 deletion notices issued (1 consent_withdrawn)" in result.output
    assert _taken_back(platform) == {"consent_withdrawn": {"p08"}}
