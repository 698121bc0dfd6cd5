"""The ``consentry`` command line: one Typer app, commands grouped by noun (one module each)."""

from __future__ import annotations

from consentry.cli import audit, consent, parties, policy, setup  # noqa: F401  (registers commands)
from consentry.cli.app import app

__all__ = ["app"]
