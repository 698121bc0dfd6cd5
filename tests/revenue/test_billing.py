"""An invoice line and the creators' payout computed from a known delivery, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from consentry.errors import InvalidInput
from consentry.revenue.billing import bill_pending
from consentry.revenue.money import money, percent_to_bp, to_minor
from consentry.store.db import session_scope
from consentry.store.invoices import earnings_of, earnings_of_delivery, get_invoice_line
from consentry.store.models import AuditEvent, License
from service.world import seed_deliveries, seed_world


@pytest.fixture
def priced(engine: Engine, tmp_path: Path) -> Engine:
    """The service world's two deliveries; acme pays 40 cents per 1,000 tokens with a 10%
    creators' share, bolt a flat 250.00 EUR with 33.33%."""
    seed_world(engine)
    with session_scope(engine) as session:
        acme = session.get(License, "lic-acme")
        acme.price_model, acme.price_minor, acme.creator_share_bp = "per_1k_tokens", 40_000, 1_000
        bolt = session.get(License, "lic-bolt")
        bolt.price_model, bolt.price_minor, bolt.currency = "flat", 25_000, "EUR"
        bolt.creator_share_bp = 3_333
    seed_deliveries(engine, tmp_path / "deliveries")
    return engine


def test_a_delivery_is_billed_once_and_its_creator_share_split_by_tokens(
    priced: Engine, tmp_path: Path
) -> None:
    # d-acme-1 delivered "text of bob-1" (13 characters: 4 tokens), "text of bob-2" (4) and
    # "text of cy-1" (12: 3): 11 tokens at 400.00 USD per 1,000 = 4.40 USD = 440 cents.
    assert bill_pending(priced, home=tmp_path) == ["d-acme-1", "d-bolt-1"]
    assert bill_pending(priced, home=tmp_path) == []
    with session_scope(priced) as session:
        acme, _ = get_invoice_line(session, "d-acme-1")
        assert (acme.records, acme.tokens, acme.amount_minor, acme.currency) == (3, 11, 440, "USD")
        # 10% of 440 = 44 cents: bob contributed 8 of the 11 tokens, cy 3: quotas 32 and 12
        assert acme.creator_pool_minor == 44
        shares = {
            e.account_id: (e.tokens, e.amount_minor)
            for e in earnings_of_delivery(session, "d-acme-1")
        }
        assert shares == {"bob": (8, 32), "cy": (3, 12)}
        bolt, _ = get_invoice_line(session, "d-bolt-1")
        # flat 250.00 EUR; 33.33% = 8332.5 cents, rounded down to 8332; cy alone gets it all
        assert (bolt.amount_minor, bolt.currency, bolt.creator_pool_minor) == (25_000, "EUR", 8332)
        assert [
            (e.account_id, e.amount_minor) for e in earnings_of_delivery(session, "d-bolt-1")
        ] == [("cy", 8332)]
        year = acme.issued_at.year
        assert earnings_of(session, account_id="cy", year=year) == {"EUR": 8332, "USD": 12}
        assert earnings_of(session, account_id="cy", year=year - 1) == {}
        audited = session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "invoice.issue")
        ).all()
        assert sorted(audited) == ["d-acme-1", "d-bolt-1"]


def test_money_is_typed_as_people_write_it_and_kept_in_minor_units() -> None:
    assert to_minor("12.50", "USD") == 1250
    assert to_minor("1,000", "JPY") == 1000
    assert money(1250, "USD") == "$12.50" and money(1000, "JPY") == "¥1,000"
    assert percent_to_bp("12.5") == 1250 and percent_to_bp("10%") == 1000
    with pytest.raises(InvalidInput, match="cannot be negative"):
        to_minor("-1", "USD")
    with pytest.raises(InvalidInput, match="USD has 2 decimals"):
        to_minor("0.001", "USD")
    with pytest.raises(InvalidInput, match="between 0% and 100%"):
        percent_to_bp("101")
