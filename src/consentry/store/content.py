"""Accounts, posts and imported consent events: bulk idempotent loads and single-row writes.

A bulk load stages a validated Arrow table beside its target and merges it with one
``INSERT ... SELECT ... ON CONFLICT (id) DO UPDATE ... WHERE <a value differs>``, so rows never
pass through Python one at a time and loading the same rows again changes nothing. On SQLite the
stage is a scratch database written by ADBC and attached (the scratch file is never open in both
SQLite copies of the process at once, so their locks cannot meet; the shared database itself is
only written by pysqlite). On PostgreSQL it is a temporary table filled by COPY.

A deletion time, once recorded, is kept: a later import without it (an export taken before the
deletion) does not bring the account or post back.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from consentry.domain.consent_bulk import TS
from consentry.domain.types import Visibility
from consentry.errors import InvalidInput, NotFound
from consentry.store.ledger import (
    CONSENT_CHAIN,
    CONSENT_FIELDS,
    append_audit_event,
    canonical_hash,
    lock_head,
)
from consentry.store.models import Account, ConsentEvent, Post

ACCOUNTS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("handle", pa.string()),
        ("display_name", pa.string()),
        ("jurisdiction", pa.string()),
        ("birth_date", pa.date32()),
        ("is_minor", pa.bool_()),
        ("protected", pa.bool_()),
        ("created_at", TS),
        ("deleted_at", TS),
    ]
)
POSTS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("account_id", pa.string()),
        ("created_at", TS),
        ("text", pa.string()),
        ("lang", pa.string()),
        ("visibility", pa.string()),
        ("reply_to", pa.string()),
        ("deleted_at", TS),
        ("like_count", pa.int64()),
        ("repost_count", pa.int64()),
        ("reply_count", pa.int64()),
    ]
)
CONSENT_SCHEMA = pa.schema(
    [
        ("external_id", pa.string()),
        ("account_id", pa.string()),
        ("purpose", pa.string()),
        ("collaborator_id", pa.string()),
        ("decision", pa.string()),
        ("source", pa.string()),
        ("policy_version", pa.string()),
        ("effective_at", TS),
        ("recorded_at", TS),
    ]
)

STICKY = ("deleted_at",)
"""Columns an update may set but never clear."""

_SCRATCH = "consentry.scratch"
_SQLITE_CACHE_KIB = 262_144
"""Page cache for a bulk merge: index pages of a million-row table stay in memory."""


@dataclass(frozen=True)
class LoadCounts:
    rows: int
    inserted: int
    updated: int
    unchanged: int


@lru_cache(maxsize=4096)
def valid_jurisdiction(code: str) -> bool:
    """An ISO 3166-1 country (``DE``) or ISO 3166-2 subdivision (``US-CA``)."""
    import pycountry

    if "-" in code:
        return pycountry.subdivisions.get(code=code) is not None
    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


@contextmanager
def bulk_session(engine: Engine) -> Iterator[Session]:
    """One transaction for a bulk load; SQLite scratch databases are detached once it ends."""
    with engine.connect() as conn:
        session = Session(bind=conn, expire_on_commit=False)
        try:
            with session.begin():
                yield session
        finally:
            scratch = session.info.pop(_SCRATCH, None)
            session.close()
            if scratch is not None:
                raw = conn.connection.driver_connection
                for alias, folder in scratch["attached"]:
                    raw.execute(f"DETACH DATABASE {alias}")
                    shutil.rmtree(folder, ignore_errors=True)
                raw.execute(f"PRAGMA cache_size = {scratch['cache_size']}")


def existing_ids(
    session: Session, column: InstrumentedAttribute[Any], values: pa.Array
) -> pa.Array:
    """Which of ``values`` (strings) are already in ``column``, seen from this transaction.

    One query with the distinct values as one parameter (a JSON array on SQLite, an array on
    PostgreSQL), however many there are."""
    unique = pc.unique(values.drop_null()).to_pylist()
    if not unique:
        return pa.array([], pa.string())
    conn = session.connection()
    table, name = column.class_.__tablename__, column.key
    if conn.dialect.name == "sqlite":
        sql = f"SELECT {name} FROM {table} WHERE {name} IN (SELECT value FROM json_each(?))"
        found = conn.exec_driver_sql(sql, (json.dumps(unique),)).scalars().all()
    else:
        sql = f"SELECT {name} FROM {table} WHERE {name} = ANY(%(values)s)"
        found = conn.exec_driver_sql(sql, {"values": unique}).scalars().all()
    return pa.array(found, pa.string())


def sqlite_layout(table: pa.Table) -> pa.Table:
    """The values as SQLAlchemy stores them in SQLite: text times and dates, integer booleans."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("us")).cast(pa.string())
        elif pa.types.is_date(column.type):
            column = column.cast(pa.string())
        elif pa.types.is_boolean(column.type):
            column = column.cast(pa.int64())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _stage_sqlite(session: Session, name: str, table: pa.Table) -> str:
    import adbc_driver_sqlite.dbapi as adbc

    conn = session.connection()
    scratch = session.info.get(_SCRATCH)
    if scratch is None:
        previous = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        scratch = session.info[_SCRATCH] = {"attached": [], "cache_size": previous}
        conn.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
    folder = tempfile.mkdtemp(prefix="consentry-stage-")
    path = f"{folder}/stage.db"
    with adbc.connect(path) as writer:
        cursor = writer.cursor()
        cursor.adbc_ingest(name, sqlite_layout(table), mode="create")
        cursor.close()
        writer.commit()
    alias = f"stage{len(scratch['attached'])}"
    conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (path,))
    scratch["attached"].append((alias, folder))
    return f"{alias}.{name}"


def _stage_postgres(session: Session, name: str, target: str, table: pa.Table) -> str:
    conn = session.connection()
    conn.exec_driver_sql(f"CREATE TEMP TABLE {name} (LIKE {target}) ON COMMIT DROP")
    buffer = io.BytesIO()
    pcsv.write_csv(table, buffer, pcsv.WriteOptions(include_header=False))
    columns = ", ".join(table.column_names)
    sql = f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)"
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        copy.write(buffer.getbuffer())
    return name


def _stage(session: Session, target: str, table: pa.Table) -> str:
    name = f"staged_{target}_{len(session.info.get('consentry.staged', ()))}"
    session.info.setdefault("consentry.staged", []).append(name)
    if session.get_bind().dialect.name == "sqlite":
        return _stage_sqlite(session, name, table)
    return _stage_postgres(session, name, target, table)


def merge(session: Session, target: str, table: pa.Table, update: Sequence[str]) -> LoadCounts:
    """Insert new rows of ``table`` into ``target`` by id; update the ``update`` columns of the
    others where a value differs. ``table`` has unique ids and the target's column types."""
    if table.num_rows == 0:
        return LoadCounts(0, 0, 0, 0)
    staged = _stage(session, target, table)
    conn = session.connection()
    distinct = "IS NOT" if conn.dialect.name == "sqlite" else "IS DISTINCT FROM"
    columns = ", ".join(table.column_names)
    existing = conn.exec_driver_sql(
        f"SELECT count(*) FROM {staged} s WHERE EXISTS (SELECT 1 FROM {target} t WHERE t.id = s.id)"
    ).scalar_one()
    sql = f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {staged} WHERE true "
    changes = []
    for column in (c for c in update if c != "id"):
        new = f"excluded.{column}"
        if column in STICKY:
            new = f"coalesce({target}.{column}, excluded.{column})"
        changes.append((f"{column} = {new}", f"{target}.{column} {distinct} {new}"))
    if changes:
        sets = ", ".join(s for s, _ in changes)
        differs = " OR ".join(d for _, d in changes)
        sql += f"ON CONFLICT (id) DO UPDATE SET {sets} WHERE {differs}"
    else:
        sql += "ON CONFLICT (id) DO NOTHING"
    changed = conn.exec_driver_sql(sql).rowcount
    inserted = table.num_rows - existing
    updated = changed - inserted
    return LoadCounts(table.num_rows, inserted, updated, existing - updated)


def append_rows(session: Session, target: str, table: pa.Table) -> int:
    """Insert every row of ``table`` (the target's column types) into ``target``, staged in bulk."""
    if table.num_rows == 0:
        return 0
    staged = _stage(session, target, table)
    columns = ", ".join(table.column_names)
    session.connection().exec_driver_sql(
        f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {staged}"
    )
    return table.num_rows


def load_accounts(session: Session, table: pa.Table, update: Sequence[str]) -> LoadCounts:
    """Insert or update accounts (``ACCOUNTS_SCHEMA``) by id."""
    return merge(session, "accounts", table.select(ACCOUNTS_SCHEMA.names), update)


def load_posts(session: Session, table: pa.Table, update: Sequence[str]) -> LoadCounts:
    """Insert or update posts (``POSTS_SCHEMA``) by id; their accounts must exist."""
    return merge(session, "posts", table.select(POSTS_SCHEMA.names), update)


CONSENT_IDENTITY = ("account_id", "purpose", "collaborator_id", "decision", "effective_at")
"""What an event says; sending it again under its external id must say the same."""


def _refuse_changed_events(session: Session, again: pa.Table) -> None:
    """Consent events are never changed: a known external id with other content is an error."""
    stored_rows = session.execute(
        select(
            ConsentEvent.external_id, *(getattr(ConsentEvent, c) for c in CONSENT_IDENTITY)
        ).where(ConsentEvent.external_id.in_(again["external_id"].to_pylist()))
    ).all()
    stored = pa.Table.from_pylist(
        [dict(zip(("external_id", *CONSENT_IDENTITY), row, strict=True)) for row in stored_rows],
        schema=pa.schema([CONSENT_SCHEMA.field(c) for c in ("external_id", *CONSENT_IDENTITY)]),
    )
    paired = again.select(["external_id", *CONSENT_IDENTITY]).join(
        stored, "external_id", right_suffix="_stored"
    )
    differs = None
    for column in CONSENT_IDENTITY:
        new, old = paired[column], paired[f"{column}_stored"]
        same = pc.or_kleene(pc.equal(new, old), pc.and_(pc.is_null(new), pc.is_null(old)))
        changed = pc.invert(pc.fill_null(same, False))
        differs = changed if differs is None else pc.or_(differs, changed)
    conflicts = paired.filter(differs)["external_id"].to_pylist() if differs is not None else []
    if conflicts:
        shown = ", ".join(repr(c) for c in sorted(conflicts)[:5])
        raise InvalidInput(
            f"{len(conflicts)} event(s) reuse an external_id already recorded with other "
            f"content ({shown}); consent events are never changed: record the new choice as a "
            "new event with its own external_id",
            field="external_id",
        )


def append_consent_events(session: Session, table: pa.Table) -> LoadCounts:
    """Append events (``CONSENT_SCHEMA``) to the hash-chained ledger, skipping external ids
    already there, in (recorded_at, effective_at, external_id) order, under the head lock."""
    head = lock_head(session, CONSENT_CHAIN)
    known = existing_ids(session, ConsentEvent.external_id, table["external_id"])
    if len(known):
        _refuse_changed_events(session, table.filter(pc.is_in(table["external_id"], known)))
    fresh = table.filter(pc.invert(pc.is_in(table["external_id"], value_set=known)))
    fresh = fresh.sort_by(
        [("recorded_at", "ascending"), ("effective_at", "ascending"), ("external_id", "ascending")]
    )
    records = []
    prev = head.last_hash
    for row in fresh.select(CONSENT_FIELDS).to_pylist():
        digest = canonical_hash(row, prev)
        records.append({**row, "prev_hash": prev, "hash": digest})
        prev = digest
    if records:
        session.execute(insert(ConsentEvent), records)
        head.last_id = session.scalars(
            select(ConsentEvent.id).where(ConsentEvent.external_id == records[-1]["external_id"])
        ).one()
        head.last_hash = prev
    return LoadCounts(table.num_rows, len(records), 0, table.num_rows - len(records))


def record_import(
    session: Session, *, kind: str, source_name: str, actor: str, counts: dict[str, int]
) -> None:
    """The one audit event of an import run."""
    append_audit_event(
        session,
        actor=actor,
        action=f"import.{kind}",
        object_type="file",
        object_id=source_name,
        details=counts,
    )


# Single rows, for the service API -------------------------------------------------------------

_ACCOUNT_REQUIRED = ("id", "handle", "jurisdiction")
_POST_REQUIRED = ("id", "account_id", "created_at")


def _check(fields: dict[str, Any], schema: pa.Schema, required: Sequence[str], new: bool) -> None:
    unknown = sorted(set(fields) - set(schema.names))
    if unknown:
        raise InvalidInput(
            f"unknown field; expected one of {', '.join(schema.names)}", field=unknown[0]
        )
    for name in required if new else ():
        if fields.get(name) in (None, ""):
            raise InvalidInput("is required", field=name)
    for name, value in fields.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            raise InvalidInput(
                f"{value.isoformat()!r} has no time zone; add 'Z' or '+00:00'", field=name
            )
        if name == "birth_date" and value is not None and not isinstance(value, date):
            raise InvalidInput("expected a date (YYYY-MM-DD)", field=name)


def _apply(
    session: Session, row: Any, fields: dict[str, Any], kind: str, actor: str, action: str = ""
) -> Any:
    """Set ``fields`` on ``row`` (new or existing); one audit event if anything changed."""
    is_new = row not in session
    changed = sorted(
        name
        for name, value in fields.items()
        if name != "id"
        and getattr(row, name) != value
        and not (name in STICKY and getattr(row, name) is not None)
    )
    for name in changed:
        setattr(row, name, fields[name])
    if is_new:
        session.add(row)
    if is_new or changed:
        session.flush()
        append_audit_event(
            session,
            actor=actor,
            action=f"{kind}.{action or ('create' if is_new else 'update')}",
            object_type=kind,
            object_id=row.id,
            details={"fields": changed},
        )
    return row


def upsert_account(session: Session, *, actor: str = "service", **fields: Any) -> Account:
    """Create the account or update the given fields (a recorded deletion is kept)."""
    account = session.get(Account, fields.get("id"))
    _check(fields, ACCOUNTS_SCHEMA, _ACCOUNT_REQUIRED, account is None)
    if "jurisdiction" in fields:
        code = str(fields["jurisdiction"]).strip().upper()
        if not valid_jurisdiction(code):
            raise InvalidInput(
                f"{code!r} is not an ISO 3166 country or subdivision (e.g. 'DE', 'US-CA')",
                field="jurisdiction",
            )
        fields["jurisdiction"] = code
    if account is None:
        account = Account(id=fields["id"], protected=False)
    return _apply(session, account, fields, "account", actor)


def upsert_post(session: Session, *, actor: str = "service", **fields: Any) -> Post:
    """Create the post or update the given fields; its account must exist."""
    post = session.get(Post, fields.get("id"))
    _check(fields, POSTS_SCHEMA, _POST_REQUIRED, post is None)
    if "account_id" in fields and session.get(Account, fields["account_id"]) is None:
        raise NotFound("account", fields["account_id"])
    if "visibility" in fields and fields["visibility"] not in set(Visibility):
        raise InvalidInput(
            f"{fields['visibility']!r} is not one of {', '.join(Visibility)}", field="visibility"
        )
    if post is None:
        defaults = {"text": "", "visibility": "public", "like_count": 0, "repost_count": 0}
        post = Post(id=fields["id"], reply_count=0, **defaults)
    return _apply(session, post, fields, "post", actor)


def mark_post_deleted(
    session: Session, post_id: str, at: datetime | None = None, *, actor: str = "service"
) -> Post:
    """Record that the post was deleted (the first deletion time is kept)."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound("post", post_id)
    return _apply(session, post, {"deleted_at": _moment(at)}, "post", actor, "delete")


def mark_account_deleted(
    session: Session, account_id: str, at: datetime | None = None, *, actor: str = "service"
) -> Account:
    """Record that the account was deleted (the first deletion time is kept)."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    return _apply(session, account, {"deleted_at": _moment(at)}, "account", actor, "delete")


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise InvalidInput(f"{at.isoformat()!r} has no time zone; add 'Z' or '+00:00'", field="at")
    return at.astimezone(UTC)
