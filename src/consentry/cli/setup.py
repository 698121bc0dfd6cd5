"""``consentry init``: create or migrate the database."""

from __future__ import annotations

from consentry.cli.app import app, console, engine, fails_cleanly
from consentry.settings import get_settings
from consentry.store.db import session_scope
from consentry.store.policies import ensure_builtin_purposes
from consentry.store.schema import upgrade


@app.command()
@fails_cleanly
def init() -> None:
    """Create or migrate the database (SQLite in CONSENTRY_HOME, or CONSENTRY_DATABASE_URL)."""
    settings = get_settings()
    db = engine()
    upgrade(db)
    with session_scope(db) as session:
        ensure_builtin_purposes(session)
    console.print(f"database ready: {db.url.render_as_string(hide_password=True)}")
    console.print(f"data directory: {settings.home.resolve()}")
