"""A read-only engine for the hot read paths ("may share?", sign-in checks).

``store.db.make_engine`` opens every SQLite transaction with ``BEGIN IMMEDIATE`` so writers
queue up front; for pure reads that would take the write lock on every request and serialise
all server workers. Under WAL, readers need no lock at all, so reads get their own engine whose
connections are ``query_only``.

On PostgreSQL every round trip counts on the hot path ("may share?" is one statement):
- no liveness ping before each use of a pooled connection (a dead one is dropped from the pool by
  the error itself);
- autocommit, so no ``BEGIN`` before the statement and no ``ROLLBACK`` when the connection goes
  back to the pool; under READ COMMITTED each statement saw its own snapshot anyway;
- a pool that holds as many connections as requests run at once (``THREADS``, the threadpool
  sync routes run in): a smaller pool with overflow closed and reopened a PostgreSQL session for
  most requests under load (254 new sessions in 5 s at 16 connections), and each new session
  pays a fork, authentication and cold catalog caches.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event

THREADS = 40
"""anyio's default thread limit: at most this many sync routes run at once in one process."""
POOL_SIZE = 16
"""Connections kept open per process: more than the requests a worker has in flight at the
benchmark's 16 connections; the rest of ``THREADS`` overflow rather than wait."""


def reader_for(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        return create_engine(
            engine.url,
            pool_size=POOL_SIZE,
            max_overflow=THREADS - POOL_SIZE,
            pool_pre_ping=False,
            isolation_level="AUTOCOMMIT",
        )
    reader = create_engine(engine.url, connect_args={"timeout": 30})

    @event.listens_for(reader, "connect")
    def _read_only(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    return reader
