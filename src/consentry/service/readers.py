"""A read-only engine for the hot read paths ("may share?", sign-in checks).

``store.db.make_engine`` opens every SQLite transaction with ``BEGIN IMMEDIATE`` so writers
queue up front; for pure reads that would take the write lock on every request and serialise
all server workers. Under WAL, readers need no lock at all, so reads get their own engine whose
connections are ``query_only``. On PostgreSQL the one engine serves both.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event


def reader_for(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        return engine
    reader = create_engine(engine.url, connect_args={"timeout": 30})

    @event.listens_for(reader, "connect")
    def _read_only(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    return reader
