"""Global Privacy Control signals received and honoured, and proof of notice: accounts told of
each policy version before it took effect, against the accounts it affected."""

from __future__ import annotations

from sqlalchemy import Engine

from consentry.domain import consent_bulk
from consentry.reports import charts
from consentry.reports.model import Column, Report, Row, Section
from consentry.reports.params import Params
from consentry.store.db import session_scope
from consentry.store.reporting import accounts_alive, accounts_notified, gpc_accounts
from consentry.store.snapshot import consent_inputs

_GPC_SQL = """
WITH gpc AS (
  SELECT account_id, purpose, min(recorded_at) AS first_at
  FROM events WHERE source = 'gpc' AND recorded_at <= $now GROUP BY account_id, purpose
)
SELECT a.jurisdiction, g.purpose,
       count(*) AS received,
       count(*) AS honoured,
       count(*) FILTER (WHERE s.reason_now = 'denied') AS in_effect,
       count(*) FILTER (WHERE s.reason_now IS DISTINCT FROM 'denied') AS superseded
FROM gpc g JOIN accounts a ON a.id = g.account_id
JOIN snapshot s ON s.account_id = g.account_id
WHERE g.purpose = $purpose
GROUP BY a.jurisdiction, g.purpose ORDER BY a.jurisdiction
"""


def gpc_and_notice(engine: Engine, params: Params) -> Report:
    # Only the accounts that sent a signal are judged: a snapshot row depends on nothing but
    # the account's own facts and events, so the others need not be read.
    with session_scope(engine) as session:
        senders = gpc_accounts(session)
    inputs = consent_inputs(engine, account_ids=senders)
    con = consent_bulk.connect()
    con.register("events", inputs.events)
    con.register("accounts", inputs.accounts)
    purposes = sorted(inputs.events.column("purpose").unique().to_pylist())
    gpc_rows: list[Row] = []
    for purpose in purposes:
        snapshot = inputs.master_snapshot(purpose=purpose, cutoff=params.now, as_of=params.now)
        con.register("snapshot", snapshot)
        table = con.sql(_GPC_SQL, params={"now": params.now, "purpose": purpose})
        gpc_rows += table.to_arrow_table().to_pylist()
        con.unregister("snapshot")
    if params.jurisdiction:
        gpc_rows = [r for r in gpc_rows if str(r["jurisdiction"]).startswith(params.jurisdiction)]
    notice_rows: list[Row] = []
    with session_scope(engine) as session:
        versions = {(p.version, p.published_at, p.effective_at) for p in inputs.reference.policies}
        for version, published, effective in sorted(versions, key=lambda v: v[2]):
            affected = accounts_alive(session, at=effective)
            told = accounts_notified(session, version=version, by=effective)
            notice_rows.append(
                {
                    "version": version,
                    "published": f"{published:%Y-%m-%d}",
                    "effective": f"{effective:%Y-%m-%d}",
                    "affected": affected,
                    "notified": told,
                    "not_notified": max(affected - told, 0),
                    "share": round(100 * told / affected, 1) if affected else None,
                }
            )
    gpc_description = (
        "GPC signals per jurisdiction: each signal is recorded as a refusal for all "
        "collaborators; 'still in effect' counts the accounts whose latest choice is still a "
        "refusal, 'superseded' those who said yes afterwards themselves."
    )
    gpc_long = [
        {"jurisdiction": r["jurisdiction"], "status": status, "accounts": r[key]}
        for r in gpc_rows
        for key, status in (("in_effect", "still in effect"), ("superseded", "superseded"))
    ]
    notice_long = [
        {"version": r["version"], "who": who, "accounts": r[key]}
        for r in notice_rows
        for key, who in (("notified", "told before it took effect"), ("not_notified", "not told"))
    ]
    notice_description = (
        "For each policy version, the accounts it applied to when it took effect, split into "
        "those shown its notice or banner before that moment and those not shown it."
    )
    return Report(
        name="gpc",
        title="Global Privacy Control and proof of notice",
        description="Opt-out signals sent by browsers, and who was told of each policy in time.",
        generated_at=params.now,
        parameters=params.shown(),
        sections=[
            Section(
                key="gpc",
                title="GPC signals received and honoured",
                description=gpc_description,
                columns=[
                    Column(key="jurisdiction", label="Jurisdiction"),
                    Column(key="purpose", label="Purpose"),
                    Column(key="received", label="Signals received (accounts)", kind="count"),
                    Column(key="honoured", label="Recorded as a refusal", kind="count"),
                    Column(key="in_effect", label="Still in effect", kind="count"),
                    Column(key="superseded", label="Superseded by the user's yes", kind="count"),
                ],
                rows=gpc_rows,
                chart=charts.bars(
                    gpc_long,
                    x="jurisdiction",
                    y="accounts",
                    color="status",
                    x_title="Jurisdiction",
                    y_title="Accounts that sent GPC",
                    title="GPC signals per jurisdiction",
                    description=gpc_description,
                ),
            ),
            Section(
                key="notice",
                title="Proof of notice before each effective date",
                description=notice_description,
                columns=[
                    Column(key="version", label="Version"),
                    Column(key="published", label="Published", kind="date"),
                    Column(key="effective", label="Effective", kind="date"),
                    Column(key="affected", label="Accounts it applied to", kind="count"),
                    Column(key="notified", label="Told before it took effect", kind="count"),
                    Column(key="not_notified", label="Not told", kind="count"),
                    Column(key="share", label="Share told", kind="percent"),
                ],
                rows=notice_rows,
                chart=charts.bars(
                    notice_long,
                    x="version",
                    y="accounts",
                    color="who",
                    x_title="Policy version",
                    y_title="Accounts",
                    title="Accounts told of each policy before it took effect",
                    description=notice_description,
                ),
            ),
        ],
        notes=[
            "A GPC signal is recorded once per account, and only where it is a legal opt-out "
            "(the settings page says elsewhere that the switches decide); signals from other "
            "places are not recorded, so received and honoured are the same count.",
            "A version applies to every account not deleted (and, where the platform sent a "
            "creation time, created) by its effective date; told means a notice or banner of "
            "that version was shown to the account at or before that date (notices_served).",
        ],
    )
