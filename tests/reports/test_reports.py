"""Each report's data function on a platform with known figures, on both databases; and the
CSV and JSON forms of a report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from consentry.domain.consent import consent_state_at, is_minor_at
from consentry.domain.consent_bulk import MASTER_SWITCH_ONLY
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.domain.types import AccountFacts, ConsentEventFacts, ExclusionReason, PolicyFacts
from consentry.reports import REPORTS, build_report
from consentry.reports.charts import svg
from consentry.reports.params import Params, month_ends
from consentry.store.snapshot import consent_inputs
from reports.world import seed_reporting_world


@pytest.fixture
def platform(engine: Engine, tmp_path: Path) -> Engine:
    seed_reporting_world(engine, tmp_path / "deliveries")
    return engine


def rows(engine: Engine, name: str, section: str, **params: object) -> list[dict]:
    report = build_report(engine, name, Params(**params))  # type: ignore[arg-type]
    return report.section(section).rows


def test_consent_over_time_counts_each_state_at_each_month_end(platform: Engine) -> None:
    report = build_report(platform, "consent", Params(months=40))
    by_date = {r["date"]: r for r in report.section("over_time").rows}
    states = ("allow", "deny", "default_allow", "default_deny", "not_shareable")
    # Before v1 took effect nobody had a policy: every shareable account is not shared.
    assert [by_date["2024-10-31"][s] for s in states] == [0, 0, 0, 4, 2]
    # After: bob (US-CA) and cy (US-TX) shared by the US opt-out default, ada (DE) not.
    assert [by_date["2025-01-31"][s] for s in states] == [0, 0, 3, 1, 2]
    # Now: bob's GPC signal is a no, nia said yes, cy is deleted.
    now = report.section("over_time").rows[-1]
    assert [now[s] for s in states] == [1, 1, 0, 1, 3]
    assert report.section("policy_dates").rows == [
        {"version": "v1", "published": "2024-10-15", "effective": "2024-11-15"}
    ]
    per_place = {
        r["jurisdiction"]: r
        for r in report.section("by_jurisdiction").rows
        if r["date"] == "2025-01-31"
    }
    assert per_place["DE"]["default_deny"] == 1 and per_place["US-CA"]["default_allow"] == 1
    only_us = build_report(platform, "consent", Params(months=3, jurisdiction="US"))
    assert only_us.section("over_time").rows[-1]["default_deny"] == 0  # ada is not in the US


def state_by_the_rule(
    account: AccountFacts,
    events: list[ConsentEventFacts],
    policies: list[PolicyFacts],
    moment: datetime,
) -> str:
    """The consent report's state of one account at one month-end, judged one at a time."""
    deleted = account.deleted_at is not None and account.deleted_at <= moment
    if deleted or is_minor_at(account, moment) or account.protected:
        return "not_shareable"
    state = consent_state_at(
        account,
        events,
        policies,
        purpose=TRAIN_AI_SYSTEM,
        collaborator_id=MASTER_SWITCH_ONLY,
        listed_at=None,
        moment=moment,
        as_of=moment,
    )
    if state.reason == ExclusionReason.DENIED:
        return "deny"
    if state.reason is not None:
        return "default_deny"
    return "allow" if state.basis.event_id is not None else "default_allow"


def test_consent_over_time_is_the_rule_judging_every_account_at_every_month_end(
    platform: Engine,
) -> None:
    params = Params(months=40)
    report = build_report(platform, "consent", params)
    inputs = consent_inputs(platform, purpose=TRAIN_AI_SYSTEM)
    accounts = [inputs.account(i) for i in inputs.accounts.column("id").to_pylist()]
    moments = month_ends(params.now, params.months)
    detail = report.section("by_jurisdiction").rows
    for moment, row in zip(moments, report.section("over_time").rows, strict=True):
        expected: dict[tuple[str, str], int] = {}
        for account in accounts:
            state = state_by_the_rule(
                account, inputs.events_of(account.id), inputs.reference.policies, moment
            )
            expected[account.jurisdiction, state] = (
                expected.get((account.jurisdiction, state), 0) + 1
            )
        got = {
            (r["jurisdiction"], state): r[state]
            for r in detail
            if r["date"] == row["date"]
            for state in ("allow", "deny", "default_allow", "default_deny", "not_shareable")
            if r[state]
        }
        assert got == expected, row["date"]


def test_gpc_signals_and_proof_of_notice(platform: Engine) -> None:
    gpc = {r["jurisdiction"]: r for r in rows(platform, "gpc", "gpc")}
    assert set(gpc) == {"US-CA", "US-TX"}
    assert (gpc["US-CA"]["received"], gpc["US-CA"]["in_effect"], gpc["US-CA"]["superseded"]) == (
        1,
        1,
        0,
    )
    assert (gpc["US-TX"]["in_effect"], gpc["US-TX"]["superseded"]) == (0, 1)  # cy said yes later
    [notice] = rows(platform, "gpc", "notice")
    # six accounts when v1 took effect; ada and bob were told before, nia only afterwards
    assert (notice["affected"], notice["notified"], notice["not_notified"]) == (6, 2, 4)
    assert notice["share"] == 33.3


def test_deliveries_revenue_and_exclusions(platform: Engine) -> None:
    delivered = {r["collaborator_id"]: r for r in rows(platform, "deliveries", "delivered")}
    acme = delivered["acme"]
    assert (acme["month"], acme["records"], acme["billed"]) == ("2025-01", 3, 1)
    # 3 records at 1.50 USD; 20% to the creators
    assert (acme["amount_minor"], acme["creator_pool_minor"], acme["currency"]) == (450, 90, "USD")
    assert delivered["bolt"]["amount_minor"] == 0
    exclusions = rows(platform, "deliveries", "exclusions")
    assert [r["reason"] for r in exclusions][:2] == ["direct_message", "deleted"]
    assert all(r["meaning"] for r in exclusions)


def test_deletion_notices_issued_acknowledged_and_open(platform: Engine) -> None:
    by = {r["collaborator_id"]: r for r in rows(platform, "notices", "notices")}
    assert (by["acme"]["issued"], by["acme"]["acknowledged"], by["acme"]["open"]) == (1, 1, 0)
    assert (by["bolt"]["issued"], by["bolt"]["acknowledged"], by["bolt"]["open"]) == (1, 0, 1)
    assert by["acme"]["median_days"] is not None and by["acme"]["median_days"] < 1
    assert by["bolt"]["median_days"] is None
    later = {
        r["collaborator_id"]: r
        for r in rows(platform, "notices", "notices", now=datetime(2100, 1, 1, tzinfo=UTC))
    }
    assert later["bolt"]["overdue"] == 1  # past the 30-day deletion deadline


def test_ccpa_request_metrics(platform: Engine) -> None:
    year = datetime.now(UTC).year
    metrics = {r["request"]: r for r in rows(platform, "ccpa", "requests", year=year)}
    opt_out = metrics["opt out of sale or sharing"]
    assert (opt_out["received"], opt_out["complied_whole"], opt_out["denied"]) == (2, 2, 0)
    delete = metrics["delete"]
    # cy's records went to acme (acknowledged) and bolt (not yet): complied with in part
    assert (delete["received"], delete["complied_whole"], delete["complied_part"]) == (1, 0, 1)
    assert metrics["know"]["received"] == 1
    assert rows(platform, "ccpa", "requests", year=year - 30) == []


def test_payouts_per_account(platform: Engine) -> None:
    accounts = {r["account_id"]: r for r in rows(platform, "payouts", "accounts")}
    # 90 cents among bob (2 posts of 4 tokens) and cy (1 of 3): quotas 65.45 and 24.54
    assert (accounts["bob"]["amount_minor"], accounts["cy"]["amount_minor"]) == (65, 25)
    [summary] = rows(platform, "payouts", "summary")
    assert (summary["accounts"], summary["amount_minor"]) == (2, 90)


def test_every_report_has_csv_json_and_titled_accessible_charts(platform: Engine) -> None:
    for name in REPORTS:
        report = build_report(platform, name, Params())
        again = json.loads(report.model_dump_json())
        assert again["name"] == name and again["sections"]
        for section in report.sections:
            lines = section.to_csv().splitlines()
            assert lines[0].split(",") == [c.key for c in section.columns]
            assert len(lines) == len(section.rows) + 1
            if section.chart is not None:
                drawn = svg(section.chart, element_id=f"{name}-{section.key}")
                assert drawn.startswith("<svg") and 'role="img"' in drawn
                assert f'<title id="{name}-{section.key}-title">' in drawn
    deliveries = build_report(platform, "deliveries", Params())
    with pytest.raises(ValueError, match="choose one with --section: delivered, revenue"):
        deliveries.section(None)
