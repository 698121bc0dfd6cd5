"""The one way to get an engine and a session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from consentry.settings import Settings, get_settings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            # Let SQLAlchemy issue BEGIN itself so writers take the lock up front (IMMEDIATE).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


@lru_cache
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
    return engine_for(settings.resolved_database_url)


@lru_cache(maxsize=64)
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """One sessionmaker per engine (building one costs more than a short transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


@contextmanager
def connected(db: Engine | Connection) -> Iterator[Connection]:
    """A Connection as given, or one opened on an Engine for the block (and closed after)."""
    if isinstance(db, Connection):
        yield db
        return
    with db.connect() as conn:
        yield conn


def id_list_in(conn: Connection) -> str:
    """SQL for ``IN (the ids of JSON array parameter :ids)``: one parameter however many ids
    (binding thousands of separate parameters costs more than the query)."""
    if conn.dialect.name == "sqlite":
        return "IN (SELECT value FROM json_each(:ids))"
    return "IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)))"
