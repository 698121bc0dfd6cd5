"""Invoice lines and creators' earnings (written by ``revenue.billing``), read for the CLI, the
admin pages, the reports and the user's page."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from consentry.errors import NotFound
from consentry.store.arrow_io import read_table
from consentry.store.models import CreatorEarning, Delivery, InvoiceLine
from consentry.store.snapshot import rows_to_table

TS = pa.timestamp("us", tz="UTC")
LINE_SCHEMA = pa.schema(
    [
        ("delivery_id", pa.string()),
        ("collaborator_id", pa.string()),
        ("license_id", pa.string()),
        ("cutoff", TS),
        ("amount_minor", pa.int64()),
        ("creator_pool_minor", pa.int64()),
        ("currency", pa.string()),
    ]
)
EARNING_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("issued_at", TS),
        ("tokens", pa.int64()),
        ("amount_minor", pa.int64()),
        ("currency", pa.string()),
    ]
)


def unbilled_deliveries(session: Session) -> list[str]:
    """Complete deliveries with no invoice line yet, oldest first."""
    return list(
        session.scalars(
            select(Delivery.id)
            .outerjoin(InvoiceLine, InvoiceLine.delivery_id == Delivery.id)
            .where(Delivery.status == "complete", InvoiceLine.delivery_id.is_(None))
            .order_by(Delivery.finished_at, Delivery.id)
        )
    )


def list_invoice_lines(
    session: Session, *, collaborator_id: str | None = None
) -> list[tuple[InvoiceLine, Delivery]]:
    """Invoice lines with their deliveries, by cut-off; one collaborator's when asked."""
    query = (
        select(InvoiceLine, Delivery)
        .join(Delivery, Delivery.id == InvoiceLine.delivery_id)
        .order_by(Delivery.cutoff, Delivery.id)
    )
    if collaborator_id is not None:
        query = query.where(InvoiceLine.collaborator_id == collaborator_id)
    return [(line, delivery) for line, delivery in session.execute(query).all()]


def get_invoice_line(session: Session, delivery_id: str) -> tuple[InvoiceLine, Delivery]:
    found = session.execute(
        select(InvoiceLine, Delivery)
        .join(Delivery, Delivery.id == InvoiceLine.delivery_id)
        .where(InvoiceLine.delivery_id == delivery_id)
    ).first()
    if found is None:
        raise NotFound("invoice", delivery_id, listing="consentry invoices list")
    return found[0], found[1]


def earnings_of_delivery(session: Session, delivery_id: str) -> list[CreatorEarning]:
    return list(
        session.scalars(
            select(CreatorEarning)
            .where(CreatorEarning.delivery_id == delivery_id)
            .order_by(CreatorEarning.account_id)
        )
    )


def invoice_table(session: Session) -> pa.Table:
    """Every invoice line with its delivery's cut-off, for the revenue reports."""
    rows = session.execute(
        select(
            InvoiceLine.delivery_id,
            InvoiceLine.collaborator_id,
            InvoiceLine.license_id,
            Delivery.cutoff,
            InvoiceLine.amount_minor,
            InvoiceLine.creator_pool_minor,
            InvoiceLine.currency,
        ).join(Delivery, Delivery.id == InvoiceLine.delivery_id)
    ).all()
    return rows_to_table(rows, LINE_SCHEMA)


def earnings_table(session: Session) -> pa.Table:
    """Every account's earning per delivery, with the invoice's date, for the payout report."""
    rows = session.execute(
        select(
            CreatorEarning.account_id,
            InvoiceLine.issued_at,
            CreatorEarning.tokens,
            CreatorEarning.amount_minor,
            CreatorEarning.currency,
        ).join(InvoiceLine, InvoiceLine.delivery_id == CreatorEarning.delivery_id)
    ).all()
    return rows_to_table(rows, EARNING_SCHEMA)


def earnings_of(session: Session, *, account_id: str, year: int) -> dict[str, int]:
    """What an account's posts earned in a year (by invoice date), per currency."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    rows = session.execute(
        select(CreatorEarning.currency, func.sum(CreatorEarning.amount_minor))
        .join(InvoiceLine, InvoiceLine.delivery_id == CreatorEarning.delivery_id)
        .where(
            CreatorEarning.account_id == account_id,
            InvoiceLine.issued_at >= start,
            InvoiceLine.issued_at < start.replace(year=year + 1),
        )
        .group_by(CreatorEarning.currency)
        .order_by(CreatorEarning.currency)
    ).all()
    return {currency: int(amount) for currency, amount in rows}


CSV_COLUMNS = [
    "delivery_id",
    "collaborator_id",
    "license_id",
    "cutoff",
    "issued_at",
    "price_model",
    "unit_price_minor",
    "records",
    "tokens",
    "amount_minor",
    "currency",
    "creator_share_bp",
    "creator_pool_minor",
]


def invoice_rows(session: Session) -> list[dict[str, object]]:
    """Every invoice line as a CSV row (times in ISO 8601, money in minor units)."""
    rows = []
    for line, delivery in list_invoice_lines(session):
        row = {c: getattr(line, c, None) for c in CSV_COLUMNS}
        row["cutoff"] = delivery.cutoff.isoformat()
        row["issued_at"] = line.issued_at.isoformat()
        rows.append(row)
    return rows


AUTHOR_SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
    ]
)


def delivered_authors(engine: Engine, delivery_id: str) -> pa.Table:
    """(record_id as delivered, account_id) of every record of a delivery (the membership),
    streamed: a large delivery's rows are not built as Python objects."""
    quoted = delivery_id.replace("'", "''")
    return read_table(
        engine,
        table="delivery_members",
        schema=AUTHOR_SCHEMA,
        columns=["record_pseudonym", "account_id"],
        where=f"delivery_id = '{quoted}'",
    )
