"""The export bills what its shards hold: the tokens it counts as it writes the records are the
tokens read back from the shards, per author."""

from __future__ import annotations

from pathlib import Path

from export_platform import CUTOFF, Platform

from consentry.pipeline.export import run_export
from consentry.revenue.billing import tokens_per_account
from consentry.store.db import session_scope
from consentry.store.invoices import earnings_of_delivery, get_invoice_line


def test_the_export_bills_the_tokens_its_shards_hold(platform: Platform, tmp_path: Path) -> None:
    result = run_export(
        platform.engine,
        platform.settings,
        license_id="nw-all",
        cutoff=CUTOFF,
        out_dir=tmp_path / "out",
    )
    read_back = tokens_per_account(
        platform.engine, delivery_id=result.delivery_id, home=platform.settings.home
    )
    with session_scope(platform.engine) as session:
        line, _ = get_invoice_line(session, result.delivery_id)
        earned = {e.account_id: e.tokens for e in earnings_of_delivery(session, result.delivery_id)}
    assert line.tokens == sum(read_back["tokens"].to_pylist()) > 0
    if earned:
        assert earned == dict(zip(*read_back.to_pydict().values(), strict=True))
