"""A read-only engine for the hot read paths ("may share?", sign-in checks).

``store.db.make_engine`` opens every SQLite transaction with ``BEGIN IMMEDIATE`` so writers
queue up front; for pure reads that would take the write lock on every request and serialise
all server workers. Under WAL, readers need no lock at all, so reads get their own engine whose
connections are ``query_only``. On PostgreSQL the reader skips the liveness ping the main
engine sends before each use of a pooled connection: on the hot path that ping is a third of the
round trips, and a connection found dead is dropped from the pool by the error itself.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event


def reader_for(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        return create_engine(engine.url, pool_size=5, max_overflow=15, pool_pre_ping=False)
    reader = create_engine(engine.url, connect_args={"timeout": 30})

    @event.listens_for(reader, "connect")
    def _read_only(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    return reader
