"""``consentry demo`` and ``consentry demo-data`` end to end, on a fresh and on an existing home."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from consentry.cli import app
from consentry.cli.app import console
from consentry.pipeline.verify import verify_delivery
from consentry.settings import get_settings
from consentry.store.db import get_engine, session_scope
from consentry.store.ledger import verify_consent_chain
from consentry.store.models import Account, ConsentEvent, Post

SMALL = ["--accounts", "300", "--posts", "2000", "--seed", "5"]
WIDE = {"COLUMNS": "160"}
"""Wide enough for the summary table's headers to print whole."""


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's console reads COLUMNS once, when first imported, maybe by an earlier test."""
    monkeypatch.setattr(console, "_width", int(WIDE["COLUMNS"]))  # restored to None afterwards


def _rows() -> tuple[int, int, int]:
    with session_scope(get_engine(get_settings())) as session:
        assert verify_consent_chain(session).ok
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(m))
            for m in (Account, Post, ConsentEvent)
        )


def test_demo_initialises_loads_and_summarises_and_can_run_again(consentry_home: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["demo", *SMALL], env=WIDE)
    assert first.exit_code == 0, first.output
    assert "database ready" in first.output
    for title in ("Consent for train_ai_system", "Consent for personalize"):
        assert title in first.output
    for column in ("jurisdiction", "allowed_by_default", "no_consent", "denied"):
        assert column in first.output
    for place in ("US-CA", "DE", "GB", "JP"):
        assert place in first.output
    assert {p.name for p in (consentry_home / "demo").glob("*.parquet")} == {
        "accounts.parquet",
        "posts.parquet",
        "consent.parquet",
    }
    loaded = _rows()
    assert loaded[:2] == (300, 2000) and loaded[2] > 0
    assert "Deliveries" in first.output and first.output.count("verified") == 3
    assert "same records from the store and from the Parquet lake" in first.output
    deliveries = sorted((consentry_home / "deliveries").iterdir())
    assert [d.name.rsplit("-", 1)[0] for d in deliveries] == [
        "lumen-en-posts",
        "northwind-train-all",
        "northwind-train-all-lake",
    ]
    for delivery in deliveries:
        assert verify_delivery(delivery).ok

    second = runner.invoke(app, ["demo", *SMALL], env=WIDE)
    assert second.exit_code == 0, second.output
    assert "Consent for train_ai_system" in second.output
    assert _rows() == loaded


def test_demo_data_writes_where_asked(consentry_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "platform"
    result = CliRunner().invoke(app, ["demo-data", *SMALL, "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert (out / "posts.parquet").exists() and not (consentry_home / "demo").exists()
    assert _rows()[:2] == (300, 2000)


def test_demo_data_refuses_an_empty_platform(consentry_home: Path) -> None:
    result = CliRunner().invoke(app, ["demo-data", "--accounts", "0"])
    assert result.exit_code != 0
    assert "--accounts" in result.output
