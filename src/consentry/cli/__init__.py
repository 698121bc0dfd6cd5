"""The ``consentry`` command line: one Typer app, commands grouped by noun (one module each).

Importing a command module registers its commands on ``app``.
"""

from __future__ import annotations

import consentry.cli.access
import consentry.cli.audit
import consentry.cli.collab
import consentry.cli.consent
import consentry.cli.demo
import consentry.cli.explain
import consentry.cli.export
import consentry.cli.imports
import consentry.cli.invoices
import consentry.cli.notices
import consentry.cli.parties
import consentry.cli.policy
import consentry.cli.redact
import consentry.cli.report
import consentry.cli.serve
import consentry.cli.setup
import consentry.cli.signals
import consentry.cli.transparency
import consentry.cli.verify  # noqa: F401
from consentry.cli.app import app

__all__ = ["app"]
