"""Records delivered per collaborator, license and month, with the revenue billed for them;
posts excluded by reason; and the creators' payouts."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import Engine

from consentry.domain import consent_bulk
from consentry.domain.types import REASON_ORDER
from consentry.pipeline.metadata import EXCLUSION_REASON_TEXT
from consentry.reports import charts
from consentry.reports.model import Cell, Column, Report, Row, Section
from consentry.reports.params import Params
from consentry.store.db import session_scope
from consentry.store.invoices import earnings_table, invoice_table
from consentry.store.reporting import complete_deliveries

_DELIVERED_SQL = """
SELECT strftime(d.cutoff, '%Y-%m') AS month, d.collaborator_id, d.license_id,
  count(*) AS deliveries, sum(d.record_count)::BIGINT AS records,
  count(i.delivery_id) AS billed, sum(i.amount_minor)::BIGINT AS amount_minor,
  sum(i.creator_pool_minor)::BIGINT AS creator_pool_minor, any_value(i.currency) AS currency
FROM deliveries d LEFT JOIN invoices i ON i.delivery_id = d.id
WHERE d.cutoff <= $now
GROUP BY ALL ORDER BY month, d.collaborator_id, d.license_id
"""
_PAYOUT_SQL = """
SELECT year(issued_at) AS year, account_id, currency,
  sum(tokens)::BIGINT AS tokens, sum(amount_minor)::BIGINT AS amount_minor
FROM earnings WHERE issued_at <= $now
GROUP BY ALL ORDER BY year, amount_minor DESC, account_id
"""


def major(minor: Cell, currency: Cell) -> float:
    """Minor units as a number of major units, for a chart's axis only (tables keep integers)."""
    if minor is None or currency is None:
        return 0.0
    return float(Decimal(int(minor)).scaleb(-get_currency_precision(str(currency))))


def deliveries_report(engine: Engine, params: Params) -> Report:
    with session_scope(engine) as session:
        deliveries, excluded = complete_deliveries(session)
        invoices = invoice_table(session)
    con = consent_bulk.connect()
    con.register("deliveries", deliveries)
    con.register("invoices", invoices)
    delivered = con.sql(_DELIVERED_SQL, params={"now": params.now}).to_arrow_table().to_pylist()
    cutoffs = deliveries["cutoff"].to_pylist()
    reasons: dict[str, int] = {r.value: 0 for r in REASON_ORDER}
    for cutoff, counts in zip(cutoffs, excluded, strict=True):
        if cutoff <= params.now:
            for reason, n in counts.items():
                reasons[reason] = reasons.get(reason, 0) + int(n)
    exclusions = [
        {"reason": reason, "meaning": EXCLUSION_REASON_TEXT.get(reason, reason), "posts": n}
        for reason, n in reasons.items()
    ]
    records_description = (
        "Records delivered each month (by the delivery's cut-off), stacked by collaborator."
    )
    revenue_description = (
        "Fees billed for the deliveries of each month, stacked by collaborator, in major units "
        "of the currency (the table gives exact minor units)."
    )
    exclusion_description = (
        "Posts left out of every delivery so far, by the consent rule's reason (each post has "
        "exactly one reason: the first that applies)."
    )
    money_rows = [
        {**r, "amount": major(r["amount_minor"], r["currency"])} for r in delivered if r["billed"]
    ]
    return Report(
        name="deliveries",
        title="Deliveries, revenue and exclusions",
        description="What each collaborator received, what it was billed, and what was left out.",
        generated_at=params.now,
        parameters=params.shown(),
        sections=[
            Section(
                key="delivered",
                title="Records delivered and billed, per collaborator, license and month",
                description=records_description,
                columns=[
                    Column(key="month", label="Month"),
                    Column(key="collaborator_id", label="Collaborator"),
                    Column(key="license_id", label="License"),
                    Column(key="deliveries", label="Deliveries", kind="count"),
                    Column(key="records", label="Records delivered", kind="count"),
                    Column(key="billed", label="Deliveries billed", kind="count"),
                    Column(key="amount_minor", label="Revenue", kind="money"),
                    Column(key="creator_pool_minor", label="Creators' share", kind="money"),
                    Column(key="currency", label="Currency"),
                ],
                rows=delivered,
                chart=charts.bars(
                    delivered,
                    x="month",
                    y="records",
                    color="collaborator_id",
                    x_title="Month",
                    y_title="Records delivered",
                    title="Records delivered per month",
                    description=records_description,
                    x_type="O",
                ),
            ),
            Section(
                key="revenue",
                title="Revenue per collaborator and month",
                description=revenue_description,
                columns=[
                    Column(key="month", label="Month"),
                    Column(key="collaborator_id", label="Collaborator"),
                    Column(key="license_id", label="License"),
                    Column(key="amount_minor", label="Revenue", kind="money"),
                    Column(key="creator_pool_minor", label="Creators' share", kind="money"),
                    Column(key="currency", label="Currency"),
                ],
                rows=[{k: v for k, v in r.items() if k != "amount"} for r in money_rows],
                chart=charts.bars(
                    money_rows,
                    x="month",
                    y="amount",
                    color="collaborator_id",
                    x_title="Month",
                    y_title="Revenue (major units)",
                    title="Revenue per month",
                    description=revenue_description,
                    x_type="O",
                ),
            ),
            Section(
                key="exclusions",
                title="Posts excluded, by reason",
                description=exclusion_description,
                columns=[
                    Column(key="reason", label="Reason"),
                    Column(key="meaning", label="What it means"),
                    Column(key="posts", label="Posts excluded", kind="count"),
                ],
                rows=exclusions,
                chart=charts.bars(
                    exclusions,
                    x="reason",
                    y="posts",
                    x_title="Reason",
                    y_title="Posts excluded",
                    title="Posts excluded by reason",
                    description=exclusion_description,
                ),
            ),
        ],
        notes=[
            "A delivery is billed once, when it completes (consentry invoices bill bills any "
            "left); 'Deliveries billed' below 'Deliveries' means some are not billed yet.",
        ],
    )


def payouts_report(engine: Engine, params: Params) -> Report:
    with session_scope(engine) as session:
        earnings = earnings_table(session)
    con = consent_bulk.connect()
    con.register("earnings", earnings)
    rows = con.sql(_PAYOUT_SQL, params={"now": params.now}).to_arrow_table().to_pylist()
    if params.year is not None:
        rows = [r for r in rows if r["year"] == params.year]
    totals: dict[tuple[str, str], Row] = {}
    for r in rows:
        key = (str(r["year"]), str(r["currency"]))
        into = totals.setdefault(
            key, {"year": key[0], "currency": key[1], "accounts": 0, "amount_minor": 0}
        )
        into["accounts"] = int(into["accounts"] or 0) + 1
        into["amount_minor"] = int(into["amount_minor"] or 0) + int(r["amount_minor"] or 0)
    summary = list(totals.values())
    description = (
        "The creators' share paid out per year: the accounts that earned and the total, per "
        "currency (each delivery's share split among its authors by the tokens they "
        "contributed)."
    )
    chart_rows = [{**s, "amount": major(s["amount_minor"], s["currency"])} for s in summary]
    return Report(
        name="payouts",
        title="Creator payouts",
        description="What the creators' share of each delivery paid to the accounts whose "
        "posts were delivered.",
        generated_at=params.now,
        parameters=params.shown(),
        sections=[
            Section(
                key="summary",
                title="Payouts per year",
                description=description,
                columns=[
                    Column(key="year", label="Year"),
                    Column(key="currency", label="Currency"),
                    Column(key="accounts", label="Accounts paid", kind="count"),
                    Column(key="amount_minor", label="Paid out", kind="money"),
                ],
                rows=summary,
                chart=charts.bars(
                    chart_rows,
                    x="year",
                    y="amount",
                    color="currency",
                    x_title="Year",
                    y_title="Paid out (major units)",
                    title="Creator payouts per year",
                    description=description,
                    x_type="O",
                ),
            ),
            Section(
                key="accounts",
                title="Payouts per account",
                description="Each account's earnings per year, largest first.",
                columns=[
                    Column(key="year", label="Year"),
                    Column(key="account_id", label="Account"),
                    Column(key="tokens", label="Tokens contributed", kind="count"),
                    Column(key="amount_minor", label="Earned", kind="money"),
                    Column(key="currency", label="Currency"),
                ],
                rows=rows,
            ),
        ],
    )
