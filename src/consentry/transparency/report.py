"""The transparency report's one data function, behind the public page, its JSON twin and
``consentry transparency export``.

Its figures come from the staff reports' data functions (``consentry.reports``: deliveries,
consent over time, deletion notices, CCPA metrics), never recomputed; only the accounts whose
posts were shared per month are counted here (``store.reporting.delivered_accounts``). Every
count below the threshold is published as "fewer than N", and so is any median days computed
over fewer than N requests: a small count could point at one person.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine

from consentry.domain import consent_bulk
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.errors import InvalidInput
from consentry.reports.ccpa import ccpa_metrics
from consentry.reports.consent import consent_over_time
from consentry.reports.deliveries import deliveries_report
from consentry.reports.model import Row
from consentry.reports.notices import deletion_notice_report
from consentry.reports.params import Params
from consentry.store.db import session_scope
from consentry.store.parties import list_collaborators, list_licenses
from consentry.store.policies import list_policies
from consentry.store.reporting import delivered_accounts

Count = int | str
"""A count as published: the number, or "fewer than N"."""


class Recipient(BaseModel):
    collaborator: str
    country: str
    purpose: str
    first_delivery: str
    """The month of its first delivery (YYYY-MM)."""
    records: Count
    """Records it received in the year."""


class Month(BaseModel):
    month: str
    accounts: Count
    """Accounts with posts in that month's deliveries."""
    posts: Count
    said_no: Count
    """Accounts refusing AI training at the end of the month (their own no)."""
    notices_issued: Count
    notices_honoured: Count
    """Notices of that month the collaborator has acknowledged (deleted the records)."""


class PolicyEntry(BaseModel):
    version: str
    published: str
    effective: str
    purposes: list[str]
    summary: str


class CcpaRow(BaseModel):
    request: str
    received: Count
    complied_whole: Count
    complied_part: Count
    pending: Count
    denied: Count
    median_days: float | str | None


class Transparency(BaseModel):
    platform: str
    year: int
    generated_at: datetime
    threshold: int
    recipients: list[Recipient]
    months: list[Month]
    said_no_at_end: Count
    policies: list[PolicyEntry]
    ccpa: list[CcpaRow]
    notes: list[str]


def published(count: int | None, threshold: int) -> Count:
    """``count`` when it is at least ``threshold``, else "fewer than N" (0 included)."""
    value = int(count or 0)
    return value if value >= threshold else f"fewer than {threshold}"


def year_end(year: int, now: datetime) -> datetime:
    """The moment the year's figures are as of: the year's end, or ``now`` for this year."""
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    if year < 2000 or datetime(year, 1, 1, tzinfo=UTC) > now:
        raise InvalidInput(f"expected a year from 2000 to {now.year}, got {year}", field="year")
    return min(end, now)


def transparency_report(
    engine: Engine, *, year: int, now: datetime, threshold: int, platform: str
) -> Transparency:
    at = year_end(year, now)
    prefix = f"{year}-"
    months = [f"{year}-{m:02d}" for m in range(1, 13) if f"{year}-{m:02d}" <= f"{at:%Y-%m}"]

    delivered = deliveries_report(engine, Params(now=at)).section("delivered").rows
    consent = consent_over_time(
        engine, Params(now=at, purpose=TRAIN_AI_SYSTEM, months=len(months))
    ).section("over_time")
    notices = deletion_notice_report(engine, Params(now=at)).section("notices").rows
    ccpa = ccpa_metrics(engine, Params(now=at, year=year)).section("requests").rows
    with session_scope(engine) as session:
        collaborators = {c.id: c for c in list_collaborators(session)}
        purposes = {lic.id: lic.purpose for lic in list_licenses(session)}
        policies = [p for p in list_policies(session) if p.status == "published"]
        accounts = delivered_accounts(session)

    con = consent_bulk.connect()
    con.register("accounts", accounts)
    per_month = dict(
        con.sql(
            "SELECT strftime(cutoff, '%Y-%m'), count(DISTINCT account_id) FROM accounts "
            "WHERE cutoff <= $at GROUP BY ALL",
            params={"at": at},
        ).fetchall()
    )

    first: dict[tuple[str, str], str] = {}
    records: dict[tuple[str, str], int] = {}
    posts: dict[str, int] = {}
    for row in delivered:
        key = (row["collaborator_id"], purposes.get(row["license_id"], ""))
        first.setdefault(key, row["month"])
        if row["month"].startswith(prefix):
            records[key] = records.get(key, 0) + int(row["records"] or 0)
            posts[row["month"]] = posts.get(row["month"], 0) + int(row["records"] or 0)
    recipients = [
        Recipient(
            collaborator=collaborators[cid].name if cid in collaborators else cid,
            country=collaborators[cid].country if cid in collaborators else "",
            purpose=purpose,
            first_delivery=since,
            records=published(records.get((cid, purpose)), threshold),
        )
        for (cid, purpose), since in sorted(first.items(), key=lambda kv: (kv[1], kv[0]))
    ]

    # Each month's end is labelled by its last day; the year's end by 1 January after it.
    denied = {min(str(r["date"])[:7], months[-1]): int(r["deny"] or 0) for r in consent.rows}
    issued: dict[str, int] = {}
    honoured: dict[str, int] = {}
    for row in notices:
        issued[row["month"]] = issued.get(row["month"], 0) + int(row["issued"] or 0)
        honoured[row["month"]] = honoured.get(row["month"], 0) + int(row["acknowledged"] or 0)

    return Transparency(
        platform=platform,
        year=year,
        generated_at=now,
        threshold=threshold,
        recipients=recipients,
        months=[
            Month(
                month=m,
                accounts=published(per_month.get(m), threshold),
                posts=published(posts.get(m), threshold),
                said_no=published(denied.get(m), threshold),
                notices_issued=published(issued.get(m), threshold),
                notices_honoured=published(honoured.get(m), threshold),
            )
            for m in months
        ],
        said_no_at_end=published(consent.rows[-1]["deny"] if consent.rows else 0, threshold),
        policies=[
            PolicyEntry(
                version=p.version,
                published=f"{p.published_at:%Y-%m-%d}" if p.published_at else "",
                effective=f"{p.effective_at:%Y-%m-%d}" if p.effective_at else "",
                purposes=list(p.purposes),
                summary=p.summary,
            )
            for p in sorted(policies, key=lambda p: (p.effective_at or at, p.version))
            if p.published_at and p.published_at <= at
        ],
        ccpa=[_ccpa_row(r, threshold) for r in ccpa],
        notes=[
            f"Counts below {threshold} are shown as 'fewer than {threshold}', so that no "
            "person can be singled out; a median over fewer requests is not shown either.",
            "Posts: records delivered to collaborators in the month (a post delivered to two "
            "collaborators counts twice). Accounts: accounts with at least one of those posts.",
            "Users who said no: accounts whose own latest choice for AI training, at the end "
            "of the month, was no (the master switch), not counting those never shared by "
            "rule (minors, protected and deleted accounts).",
            "Deletion notices: notices issued in the month when shared posts were withdrawn or "
            "deleted; honoured: those the collaborator has confirmed it deleted.",
        ],
    )


def _ccpa_row(row: Row, threshold: int) -> CcpaRow:
    received = int(row["received"] or 0)
    median = row["median_days"] if received >= threshold else f"not shown under {threshold}"
    return CcpaRow(
        request=str(row["request"]),
        received=published(received, threshold),
        complied_whole=published(row["complied_whole"], threshold),
        complied_part=published(row["complied_part"], threshold),
        pending=published(row["pending"], threshold),
        denied=published(row["denied"], threshold),
        median_days=median,
    )
