"""The reports for licensing and privacy staff: one data function per report, behind the admin
page, its JSON twin and ``consentry report NAME``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from consentry.errors import NotFound
from consentry.reports.ccpa import ccpa_metrics
from consentry.reports.consent import consent_over_time
from consentry.reports.deliveries import deliveries_report, payouts_report
from consentry.reports.gpc import gpc_and_notice
from consentry.reports.model import Report
from consentry.reports.notices import deletion_notice_report
from consentry.reports.params import Params


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    summary: str
    build: Callable[[Engine, Params], Report]


REPORTS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        ReportKind(
            "consent",
            "Consent over time",
            "Accounts allowing, refusing or covered by a default, per jurisdiction and month, "
            "with policy dates marked.",
            consent_over_time,
        ),
        ReportKind(
            "gpc",
            "GPC and proof of notice",
            "Global Privacy Control signals received and honoured; accounts told of each "
            "policy before it took effect.",
            gpc_and_notice,
        ),
        ReportKind(
            "deliveries",
            "Deliveries, revenue and exclusions",
            "Records delivered and billed per collaborator, license and month; posts excluded "
            "by reason.",
            deliveries_report,
        ),
        ReportKind(
            "notices",
            "Deletion notices",
            "Notices issued, acknowledged and overdue, and the days collaborators took.",
            deletion_notice_report,
        ),
        ReportKind(
            "ccpa",
            "CCPA request metrics",
            "Requests to know, delete and opt out per year: received, complied with, denied, "
            "median days (CCPA regulations §7102).",
            ccpa_metrics,
        ),
        ReportKind(
            "payouts",
            "Creator payouts",
            "The creators' share of each delivery's fee, per account and year.",
            payouts_report,
        ),
    )
}


def build_report(engine: Engine, name: str, params: Params) -> Report:
    kind = REPORTS.get(name)
    if kind is None:
        raise NotFound("report", name, listing="consentry report list")
    return kind.build(engine, params)
