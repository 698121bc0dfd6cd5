"""Deletion notices issued, acknowledged and overdue, and how long collaborators took."""

from __future__ import annotations

from sqlalchemy import Engine

from consentry.domain import consent_bulk
from consentry.reports import charts
from consentry.reports.model import Column, Report, Section
from consentry.reports.params import Params
from consentry.store.db import session_scope
from consentry.store.reporting import deletion_notices

_SQL = """
SELECT strftime(issued_at, '%Y-%m') AS month, collaborator_id,
  count(*) AS issued,
  sum(record_count)::BIGINT AS records,
  count(*) FILTER (WHERE acknowledged_at IS NOT NULL AND acknowledged_at <= $now) AS acknowledged,
  count(*) FILTER (WHERE (acknowledged_at IS NULL OR acknowledged_at > $now)
                   AND due_at < $now) AS overdue,
  count(*) FILTER (WHERE (acknowledged_at IS NULL OR acknowledged_at > $now)
                   AND due_at >= $now) AS open,
  round(median(epoch(acknowledged_at - issued_at) / 86400.0)
        FILTER (WHERE acknowledged_at <= $now), 2) AS median_days,
  round(quantile_cont(epoch(acknowledged_at - issued_at) / 86400.0, 0.9)
        FILTER (WHERE acknowledged_at <= $now), 2) AS p90_days,
  count(*) FILTER (WHERE acknowledged_at > due_at AND acknowledged_at <= $now) AS late
FROM notices WHERE issued_at <= $now
GROUP BY ALL ORDER BY month, collaborator_id
"""


def deletion_notice_report(engine: Engine, params: Params) -> Report:
    with session_scope(engine) as session:
        notices = deletion_notices(session)
    con = consent_bulk.connect()
    con.register("notices", notices)
    rows = con.sql(_SQL, params={"now": params.now}).to_arrow_table().to_pylist()
    long = [
        {"month": r["month"], "status": status, "notices": r[key]}
        for r in rows
        for key, status in (
            ("acknowledged", "acknowledged"),
            ("overdue", "overdue"),
            ("open", "open, not yet due"),
        )
    ]
    description = (
        "Deletion notices issued each month, by what became of them: acknowledged by the "
        "collaborator, still open within the license's deletion deadline, or overdue."
    )
    return Report(
        name="notices",
        title="Deletion notices",
        description="What collaborators were told to delete, and whether they confirmed in time.",
        generated_at=params.now,
        parameters=params.shown(),
        sections=[
            Section(
                key="notices",
                title="Notices per month and collaborator",
                description=description,
                columns=[
                    Column(key="month", label="Issued in"),
                    Column(key="collaborator_id", label="Collaborator"),
                    Column(key="issued", label="Notices issued", kind="count"),
                    Column(key="records", label="Records to delete", kind="count"),
                    Column(key="acknowledged", label="Acknowledged", kind="count"),
                    Column(key="late", label="Acknowledged after the deadline", kind="count"),
                    Column(key="open", label="Open, not yet due", kind="count"),
                    Column(key="overdue", label="Overdue", kind="count"),
                    Column(key="median_days", label="Median days to acknowledge", kind="days"),
                    Column(key="p90_days", label="90th percentile days", kind="days"),
                ],
                rows=rows,
                chart=charts.bars(
                    long,
                    x="month",
                    y="notices",
                    color="status",
                    x_title="Month issued",
                    y_title="Notices",
                    title="Deletion notices per month by status",
                    description=description,
                    x_type="O",
                ),
            )
        ],
        notes=["No notices yet means nothing delivered has been withdrawn or deleted."]
        if not rows
        else [],
    )
