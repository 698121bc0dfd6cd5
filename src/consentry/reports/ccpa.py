"""The yearly request metrics the CCPA regulations (11 CCR §7102(a)) ask of a business that
handles the personal information of 10 million or more Californians: requests to know, to
delete and to opt out of sale or sharing, received, complied with in whole or in part, denied,
and the median days to respond.

What counts as each request in this data model is ``NOTES``.
"""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Engine

from consentry.domain import consent_bulk
from consentry.domain.types import ConsentSource
from consentry.reports import charts
from consentry.reports.model import Column, Report, Row, Section
from consentry.reports.params import Params
from consentry.store.db import session_scope
from consentry.store.reporting import TS, access_requests, account_deletions, opt_outs

USER_SOURCES = sorted(
    s.value
    for s in (ConsentSource.SETTINGS, ConsentSource.API, ConsentSource.GPC, ConsentSource.IMPORT)
)

_SQL = """
SELECT year(recorded_at) AS year, 'opt out of sale or sharing' AS request,
  count(*) AS received, count(*) AS complied_whole, 0 AS complied_part, 0 AS pending,
  0 AS denied,
  round(median(greatest(epoch(recorded_at - effective_at), 0) / 86400.0), 2) AS median_days
FROM opt_outs WHERE recorded_at <= $now
GROUP BY ALL
UNION ALL
SELECT year(deleted_at), 'delete',
  count(*),
  count(*) FILTER (WHERE unacknowledged = 0),
  count(*) FILTER (WHERE unacknowledged > 0 AND last_acknowledged_at IS NOT NULL),
  count(*) FILTER (WHERE unacknowledged > 0 AND last_acknowledged_at IS NULL),
  0,
  round(median(CASE WHEN records = 0 THEN 0.0
                    ELSE greatest(epoch(last_acknowledged_at - deleted_at), 0) / 86400.0 END)
        FILTER (WHERE unacknowledged = 0), 2)
FROM deletions WHERE deleted_at <= $now
GROUP BY ALL
UNION ALL
SELECT year(requested_at), 'know', count(*), count(*), 0, 0, 0, 0.0
FROM know WHERE requested_at <= $now
GROUP BY ALL
ORDER BY year, request
"""

NOTES = [
    "To opt out of sale or sharing: a user's own 'no' in the ledger (a deny event from the "
    "settings page, the API, a GPC signal or an import of the platform's records; not admin or "
    "default events). It is complied with when recorded: every later export and may-share answer "
    "leaves the account out. Days to respond: recorded minus effective time.",
    "To delete: an account the platform deleted. Complied with in whole when every delivered "
    "record of it was taken back by a deletion notice the collaborator acknowledged (or nothing "
    "of it had been delivered); in part while some of its notices are acknowledged and others "
    "not; pending while none are. Days to respond: from the deletion to the last "
    "acknowledgement.",
    "To know: the platform asking for an account's own record of what was shared "
    "(GET /api/platform/accounts/{id}/shared-records, audited), answered at once.",
    "Nothing is ever refused, so 'denied' is 0; it is a column because the regulation asks for it.",
]


def ccpa_metrics(engine: Engine, params: Params) -> Report:
    with session_scope(engine) as session:
        refusals = opt_outs(session, sources=USER_SOURCES)
        deletions = account_deletions(session)
        know = pa.table({"requested_at": pa.array(access_requests(session), TS)})
    con = consent_bulk.connect()
    con.register("opt_outs", refusals)
    con.register("deletions", deletions)
    con.register("know", know)
    rows: list[Row] = con.sql(_SQL, params={"now": params.now}).to_arrow_table().to_pylist()
    if params.year is not None:
        rows = [r for r in rows if r["year"] == params.year]
    description = (
        "Requests received each year by kind (to know, to delete, to opt out of sale or "
        "sharing); the table beside gives those complied with, pending, denied and the median "
        "days to respond."
    )
    return Report(
        name="ccpa",
        title="CCPA request metrics (§7102)",
        description="The yearly figures the CCPA regulations ask large businesses to publish.",
        generated_at=params.now,
        parameters=params.shown(),
        sections=[
            Section(
                key="requests",
                title="Requests per year",
                description=description,
                columns=[
                    Column(key="year", label="Year"),
                    Column(key="request", label="Request to"),
                    Column(key="received", label="Received", kind="count"),
                    Column(key="complied_whole", label="Complied with in whole", kind="count"),
                    Column(key="complied_part", label="Complied with in part", kind="count"),
                    Column(key="pending", label="Pending", kind="count"),
                    Column(key="denied", label="Denied", kind="count"),
                    Column(key="median_days", label="Median days to respond", kind="days"),
                ],
                rows=rows,
                chart=charts.bars(
                    [{**r, "year": str(r["year"])} for r in rows],
                    x="year",
                    y="received",
                    color="request",
                    x_title="Year",
                    y_title="Requests received",
                    title="Consumer requests received per year",
                    description=description,
                    x_type="O",
                ),
            )
        ],
        notes=NOTES,
    )
