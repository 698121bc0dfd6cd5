"""Consent over time, per jurisdiction and purpose, with each policy version's dates marked."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from consentry.domain import consent_bulk, consent_snapshot
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.errors import InvalidInput
from consentry.reports import charts
from consentry.reports.model import Cell, Column, Report, Row, Section
from consentry.reports.params import Params, month_ends
from consentry.store.snapshot import consent_inputs

STATES = {
    "allow": "Allowed (the user said yes)",
    "deny": "Denied (the user said no)",
    "default_allow": "Allowed by the policy's default",
    "default_deny": "Not shared by the policy's default (or no policy)",
    "not_shareable": "Never shared (minor, protected or deleted)",
}

_COUNT_SQL = """
SELECT moment, jurisdiction,
  count(*) FILTER (WHERE NOT (deleted OR minor OR protected)
                   AND reason_t IS NULL AND event_t IS NOT NULL) AS allow,
  count(*) FILTER (WHERE NOT (deleted OR minor OR protected) AND reason_t = 'denied') AS deny,
  count(*) FILTER (WHERE NOT (deleted OR minor OR protected)
                   AND reason_t IS NULL AND event_t IS NULL) AS default_allow,
  count(*) FILTER (WHERE NOT (deleted OR minor OR protected)
                   AND reason_t IN ('no_consent', 'no_policy')) AS default_deny,
  count(*) FILTER (WHERE deleted OR minor OR protected) AS not_shareable
FROM snapshots GROUP BY moment, jurisdiction ORDER BY moment, jurisdiction
"""
_COUNTED = ["jurisdiction", "deleted", "minor", "protected", "reason_t", "event_t"]


def consent_over_time(engine: Engine, params: Params) -> Report:
    """The master switch's state for every account at each month boundary (the bulk rule over
    the one snapshot reader), summed per jurisdiction, for one purpose."""
    purpose = params.purpose or TRAIN_AI_SYSTEM
    inputs = consent_inputs(engine, purpose=purpose)
    if purpose not in inputs.reference.purposes:
        known = ", ".join(sorted(inputs.reference.purposes))
        raise InvalidInput(f"unknown purpose {purpose!r}; known: {known}", field="purpose")
    accounts = inputs.accounts
    if params.jurisdiction:
        accounts = accounts.filter(
            pc.starts_with(accounts["jurisdiction"], pattern=params.jurisdiction)
        )
    con = consent_bulk.connect()
    moments = month_ends(params.now, params.months)
    snapshots = consent_snapshot.snapshots_over_time(
        accounts,
        inputs.events,
        inputs.reference.policies,
        purpose=purpose,
        collaborator_id=consent_bulk.MASTER_SWITCH_ONLY,
        listed_at=None,
        moments=moments,
    )
    # Counted in one query over every month-end's snapshot: one query per month cost more.
    counted = pa.concat_tables(
        snapshot.select(_COUNTED).append_column(
            "moment", pa.array(np.full(snapshot.num_rows, i, dtype=np.int32))
        )
        for i, snapshot in enumerate(snapshots)
    )
    con.register("snapshots", counted)
    counts: pa.Table = con.sql(_COUNT_SQL).to_arrow_table()
    con.unregister("snapshots")
    days = [
        f"{moment - timedelta(microseconds=1):%Y-%m-%d}"
        if moment != params.now
        else (f"{moment:%Y-%m-%d}")
        for moment in moments
    ]
    detail: list[Row] = [
        {"date": days[moment], **row}
        for moment, row in zip(
            counts.column("moment").to_pylist(),
            counts.drop_columns(["moment"]).to_pylist(),
            strict=True,
        )
    ]
    totals = _totals(detail)
    policies = sorted(
        {
            (p.version, p.published_at, p.effective_at)
            for p in inputs.reference.policies
            if purpose in p.purposes
        },
        key=lambda v: v[2],
    )
    dates = [
        {"version": v, "published": f"{pub:%Y-%m-%d}", "effective": f"{eff:%Y-%m-%d}"}
        for v, pub, eff in policies
    ]
    state_columns = [Column(key=k, label=label, kind="count") for k, label in STATES.items()]
    where = f" in {params.jurisdiction}" if params.jurisdiction else ""
    description = (
        f"Accounts{where} by the state of {purpose} at the end of each month (stacked), from "
        f"{detail[0]['date'] if detail else '-'} to {detail[-1]['date'] if detail else '-'}; "
        "vertical lines mark each policy version's publication (dashed) and effective date."
    )
    return Report(
        name="consent",
        title=f"Consent over time: {purpose}",
        description="Who allows sharing, who refused, and who is covered only by a default.",
        generated_at=params.now,
        parameters={**params.shown(), "purpose": purpose},
        sections=[
            Section(
                key="over_time",
                title="All jurisdictions" if not where else f"Jurisdictions{where}",
                description=description,
                columns=[Column(key="date", label="At the end of", kind="date"), *state_columns],
                rows=totals,
                chart=_chart(
                    totals, dates, title=f"Consent to {purpose} over time", description=description
                ),
            ),
            Section(
                key="by_jurisdiction",
                title="Per jurisdiction, each month",
                description="The same counts per jurisdiction key of the accounts.",
                columns=[
                    Column(key="date", label="At the end of", kind="date"),
                    Column(key="jurisdiction", label="Jurisdiction"),
                    *state_columns,
                ],
                rows=detail,
            ),
            Section(
                key="policy_dates",
                title="Policy versions covering this purpose",
                description="When each version was published and when it took effect.",
                columns=[
                    Column(key="version", label="Version"),
                    Column(key="published", label="Published", kind="date"),
                    Column(key="effective", label="Effective", kind="date"),
                ],
                rows=dates,
            ),
        ],
        notes=[
            "States are those of the switch for all collaborators (per-collaborator choices are "
            "not summed here), judged by the consent rule at each month boundary with the "
            "ledger as recorded by then.",
            "Accounts are counted from the platform's account list as it is today; an account "
            "created later is counted as covered by the default before it existed.",
        ],
    )


def _totals(detail: list[Row]) -> list[Row]:
    totals: dict[str, Row] = {}
    for row in detail:
        into = totals.setdefault(
            str(row["date"]), {"date": row["date"], **dict.fromkeys(STATES, 0)}
        )
        for state in STATES:
            into[state] = int(into[state] or 0) + int(row[state] or 0)
    return list(totals.values())


def _chart(totals: list[Row], dates: list[Row], *, title: str, description: str) -> dict:
    long = [
        {"date": row["date"], "state": STATES[state], "accounts": row[state]}
        for row in totals
        for state in STATES
    ]
    bars = (
        alt.Chart(charts.data(long))
        .mark_bar()
        .encode(
            x=alt.X("date:O", title="End of month"),
            y=alt.Y("sum(accounts):Q", title="Accounts"),
            color=alt.Color("state:N", title="State", sort=list(STATES.values())),
        )
    )
    marks = [
        {"version": d["version"], "what": "published", "month": str(d["published"])[:7]}
        for d in dates
    ] + [
        {"version": d["version"], "what": "effective", "month": str(d["effective"])[:7]}
        for d in dates
    ]
    shown = {str(r["date"])[:7] for r in totals}
    marks = [m | {"date": _bar_of(m["month"], totals)} for m in marks if m["month"] in shown]
    layers: alt.TopLevelMixin = bars
    if marks:
        rules = (
            alt.Chart(charts.data(marks))
            .mark_rule(color="black", strokeWidth=2)
            .encode(
                x="date:O",
                strokeDash=alt.StrokeDash("what:N", title="Policy date"),
                tooltip=["version:N", "what:N"],
            )
        )
        layers = alt.layer(bars, rules)
    return charts.spec(layers.properties(width=charts.WIDTH), title=title, description=description)


def _bar_of(month: str, totals: list[Row]) -> Cell:
    """The bar of the month a policy date falls in (the month ending after it)."""
    for row in totals:
        if str(row["date"])[:7] == month:
            return row["date"]
    return None
