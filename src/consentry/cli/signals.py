"""``consentry signals``: the rights signals as files for the platform's web servers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from consentry.cli.app import app, console, engine, fails_cleanly
from consentry.settings import get_settings
from consentry.signals.files import SiteSignals

signals_app = typer.Typer(help="Rights signals for crawlers (robots.txt, RSL, TDMRep).")
app.add_typer(signals_app, name="signals")


@signals_app.command("write")
@fails_cleanly
def write(
    directory: Path = typer.Argument(..., help="The site's root to write the files under."),
) -> None:
    """Write robots.txt, license.xml (RSL), .well-known/tdmrep.json and tdm-policy.json,
    following the consent rule now; each file replaces the old one whole (temp name + rename)."""
    signals = SiteSignals.now(engine(), get_settings(), now=datetime.now(UTC))
    for path in signals.write(directory):
        console.print(f"wrote {path}")
    console.print(f"{len(signals.reserved)} public posts reserved (never for AI training)")
