"""An invoice line per complete delivery, and the creators' share of it per account.

A delivery is billed once (its invoice line's key is the delivery), from what was delivered:
the record count, and the tokens estimated from the delivered texts
(``domain.revenue.estimate_tokens``), so that a collaborator can recompute the bill from its own
copy. The export counts them from the records as it writes them into the shards; a delivery
billed later (``bill_pending``) has them read back from its shards, which hold the same texts.
The creators' pool is split among the accounts whose posts were delivered, by the tokens each
contributed, with the largest-remainder method, so the parts sum to the pool.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from consentry.domain.revenue import creator_pool, estimate_tokens, fee, split
from consentry.errors import IntegrityFailure
from consentry.store.db import session_scope
from consentry.store.deliveries import completed_shards, delivery_directory
from consentry.store.invoices import delivered_authors, unbilled_deliveries
from consentry.store.ledger import append_audit_event
from consentry.store.models import CreatorEarning, Delivery, InvoiceLine, License

TOKENS_SCHEMA = pa.schema([("account_id", pa.string()), ("tokens", pa.int64())])
"""Tokens per author of a delivery, as the bill reads them."""


def bill_pending(engine: Engine, *, home: Path, actor: str = "billing") -> list[str]:
    """Bill every complete delivery not billed yet; returns the deliveries billed."""
    with session_scope(engine) as session:
        pending = unbilled_deliveries(session)
    for delivery_id in pending:
        bill(engine, delivery_id=delivery_id, home=home, actor=actor)
    return pending


def bill(
    engine: Engine,
    *,
    delivery_id: str,
    home: Path,
    actor: str,
    tokens: pa.Table | None = None,
) -> InvoiceLine:
    """One complete delivery's invoice line (made once; the export calls this at the end).

    ``tokens``: (account_id, tokens) as ``tokens_per_account`` would read them back, when the
    caller counted them from the very records it wrote into the shards (the export does)."""
    with session_scope(engine) as session:
        line = session.get(InvoiceLine, delivery_id)
        if line is not None:
            return line
    if tokens is None:
        tokens = tokens_per_account(engine, delivery_id=delivery_id, home=home)
    with session_scope(engine) as session:
        return bill_delivery(session, delivery_id=delivery_id, tokens=tokens, actor=actor)


def tokens_per_account(engine: Engine, *, delivery_id: str, home: Path) -> pa.Table:
    """(account_id, tokens) for one delivery: the delivered texts, read back from its shards,
    joined with the membership by record id."""
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        directory = delivery_directory(delivery.path, home)
        names = [s.name for s in completed_shards(session, delivery_id)]
    parts = []
    for name in names:
        path = directory / name
        if not path.exists():
            raise IntegrityFailure(
                f"shard {path} of delivery {delivery_id} is missing; it cannot be billed "
                "until the delivery's files are back"
            )
        columns = pq.read_schema(path).names
        shard = pq.read_table(path, columns=[c for c in ("record_id", "text") if c in columns])
        parts.append(pa.table({"record_id": shard["record_id"], "tokens": _text_tokens(shard)}))
    members = delivered_authors(engine, delivery_id)
    if not parts:
        return TOKENS_SCHEMA.empty_table()
    tokens = pa.concat_tables(parts).join(members, "record_id", join_type="inner")
    return sum_tokens(tokens.select(["account_id", "tokens"]))


def record_tokens(records: pa.Table, members: pa.Table) -> pa.Table:
    """(account_id, tokens) of delivered records (row-aligned with their members), as
    ``tokens_per_account`` reads them back from a shard: nulls and a text-less schema count 0."""
    return pa.table({"account_id": members.column("account_id"), "tokens": _text_tokens(records)})


def _text_tokens(records: pa.Table) -> pa.Array:
    """Each record's estimated tokens; without a ``text`` column (a license without it), 0."""
    if "text" in records.column_names:
        return estimate_tokens(records.column("text"))
    return estimate_tokens(pa.nulls(records.num_rows, pa.string()))


def sum_tokens(tokens: pa.Table) -> pa.Table:
    """(account_id, tokens) summed per account, in account order."""
    summed = tokens.group_by("account_id").aggregate([("tokens", "sum")])
    return summed.rename_columns(["account_id", "tokens"]).sort_by("account_id")


def bill_delivery(
    session: Session, *, delivery_id: str, tokens: pa.Table, actor: str
) -> InvoiceLine:
    """The delivery's invoice line (made now if it has none) and its creators' earnings."""
    line = session.get(InvoiceLine, delivery_id)
    if line is not None:
        return line
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    license = session.get(License, delivery.license_id)
    assert license is not None
    total_tokens = int(pc.sum(tokens["tokens"]).as_py() or 0)
    amount = fee(
        price_model=license.price_model,
        unit_price_minor=license.price_minor,
        records=delivery.record_count,
        tokens=total_tokens,
    )
    pool = creator_pool(amount, license.creator_share_bp)
    line = InvoiceLine(
        delivery_id=delivery_id,
        license_id=license.id,
        collaborator_id=delivery.collaborator_id,
        issued_at=datetime.now(UTC),
        price_model=license.price_model,
        unit_price_minor=license.price_minor,
        records=delivery.record_count,
        tokens=total_tokens,
        amount_minor=amount,
        currency=license.currency,
        creator_share_bp=license.creator_share_bp,
        creator_pool_minor=pool,
    )
    session.add(line)
    session.flush()
    if pool:
        accounts = tokens["account_id"].to_pylist()
        weights = [int(t) for t in tokens["tokens"].to_pylist()]
        rows = [
            {
                "delivery_id": delivery_id,
                "account_id": account,
                "tokens": weight,
                "amount_minor": amount_minor,
                "currency": license.currency,
            }
            for account, weight, amount_minor in zip(
                accounts, weights, split(pool, weights), strict=True
            )
        ]
        if rows:
            session.execute(insert(CreatorEarning), rows)
    append_audit_event(
        session,
        actor=actor,
        action="invoice.issue",
        object_type="delivery",
        object_id=delivery_id,
        details={
            "amount_minor": amount,
            "currency": license.currency,
            "price_model": license.price_model,
            "records": delivery.record_count,
            "tokens": total_tokens,
            "creator_pool_minor": pool,
        },
    )
    return line
