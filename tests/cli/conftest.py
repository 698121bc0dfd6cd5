"""The CLI tests run the real commands (Typer's runner) on a fresh CONSENTRY_HOME."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from consentry.cli import app
from consentry.cli.app import console, err_console

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables and errors must not be folded by the 80-column default of a non-terminal."""
    for each in (console, err_console):
        monkeypatch.setattr(each, "_width", 1000)  # restored to None, not frozen at 80


@pytest.fixture
def cli(consentry_home: Path) -> Run:
    """``cli(*args, ok=True)`` runs ``consentry ARGS`` on an initialised database; with ``ok``
    (the default) it must succeed."""
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run("init")
    return run
