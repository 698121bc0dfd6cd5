"""The what-if of a draft policy counts what an export delivers once the draft is published:
the simulator's numbers against real exports, before and after publishing, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from export_platform import Platform

from consentry.domain.types import DefaultRule
from consentry.errors import InvalidInput
from consentry.pipeline.export import run_export
from consentry.reports.whatif import DraftPolicy, read_draft, simulate
from consentry.store.db import session_scope
from consentry.store.deliveries import members_of
from consentry.store.policies import draft_policy, publish_policy

V3_EFFECTIVE = datetime(2024, 12, 1, tzinfo=UTC)
V3 = DraftPolicy(
    version="v3",
    purposes=frozenset({"train_ai_system"}),
    defaults={
        "train_ai_system": {
            "US": DefaultRule.OPT_IN,  # us_default's posts stop going
            "EU": DefaultRule.OPT_IN,
            "GB": DefaultRule.OPT_IN,
        }
    },
    notice_days=30,
    effective_at=V3_EFFECTIVE,
)


def exported(platform: Platform, license_id: str, out: Path) -> tuple[int, int]:
    """(records delivered, distinct accounts) of a full export at the platform's cut-off."""
    result = run_export(
        platform.engine,
        platform.settings,
        license_id=license_id,
        cutoff=platform.cutoff,
        out_dir=out,
        actor="test",
    )
    with session_scope(platform.engine) as session:
        accounts = {m.account_id for m in members_of(session, result.delivery_id)}
    return result.counts.delivered, len(accounts)


def test_the_simulated_counts_are_what_exports_deliver_before_and_after_publishing(
    platform: Platform, tmp_path: Path
) -> None:
    report = simulate(platform.engine, V3, at=platform.cutoff)
    licenses = {r["license_id"]: r for r in report.section("licenses").rows}
    assert set(licenses) == {"nw-all", "lumen-en-posts"}
    assert licenses["nw-all"]["posts_change"] < 0  # the draft shares less
    for license_id, row in licenses.items():
        now = exported(platform, license_id, tmp_path / f"{license_id}-before")
        assert now == (row["posts_now"], row["accounts_now"]), license_id
    with session_scope(platform.engine) as session:
        draft_policy(
            session,
            version="v3",
            summary="AI training needs a yes everywhere.",
            defaults={"train_ai_system": {"US": "opt_in", "EU": "opt_in", "GB": "opt_in"}},
            notice_days=30,
            actor="test",
        )
        publish_policy(
            session,
            version="v3",
            effective_at=V3_EFFECTIVE,
            published_at=V3_EFFECTIVE,
            actor="test",
        )
    for license_id, row in licenses.items():
        after = exported(platform, license_id, tmp_path / f"{license_id}-after")
        assert after == (row["posts_draft"], row["accounts_draft"]), license_id
    places = {(r["license_id"], r["jurisdiction"]): r for r in report.section("jurisdictions").rows}
    assert places[("nw-all", "US-CA")]["posts_draft"] == 0
    assert places[("nw-all", "US-CA")]["posts_now"] == licenses["nw-all"]["posts_now"] - 1


def test_a_draft_file_is_read_with_errors_naming_the_file_and_field(tmp_path: Path) -> None:
    good = tmp_path / "v3.yaml"
    good.write_text(
        "version: v3\npurposes: [train_ai_system]\n"
        "defaults:\n  train_ai_system:\n    us: opt_in\n    EU: opt_in\n"
        "notice_days: 14\neffective: 2025-03-01\n"
    )
    draft = read_draft(good)
    assert draft.defaults == {
        "train_ai_system": {"US": DefaultRule.OPT_IN, "EU": DefaultRule.OPT_IN}
    }
    assert draft.effective_at == datetime(2025, 3, 1, tzinfo=UTC) and draft.notice_days == 14
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: v3\ndefaults:\n  train_ai_system:\n    US: maybe\neffective: 2025-03-01\n"
    )
    with pytest.raises(InvalidInput, match=r"bad.yaml, field 'defaults.train_ai_system.US'"):
        read_draft(bad)
    bad.write_text("version: v3\nnotice_days: -1\npurposes: [x]\neffective: 2025-03-01\n")
    with pytest.raises(InvalidInput, match="field 'notice_days'"):
        read_draft(bad)
