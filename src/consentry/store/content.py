"""Accounts, posts and imported consent events: bulk idempotent loads and single-row writes.

A bulk load stages a validated Arrow table beside its target and merges it with one
``INSERT ... SELECT ... ON CONFLICT (id) DO UPDATE ... WHERE <a value differs>``, so rows never
pass through Python one at a time and loading the same rows again changes nothing. On SQLite the
stage is a scratch database written by ADBC and attached (the scratch file is never open in both
SQLite copies of the process at once, so their locks cannot meet; the shared database itself is
only written by pysqlite). On PostgreSQL it is a temporary table filled by COPY.

An update changes only the values it gives: a null (a missing column or key, an empty cell) keeps
what is stored, and new rows get the defaults (``DEFAULTS``). A deletion takes effect at the
earliest time ever sent: a later import without it (an export taken before the deletion) does not
bring the account or post back, and one with an earlier time brings the deletion forward.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from consentry.domain.consent_bulk import TS
from consentry.domain.types import PostKind, Visibility
from consentry.errors import InvalidInput, NotFound
from consentry.store.db import id_list_in
from consentry.store.ledger import (
    CONSENT_CHAIN,
    CONSENT_FIELDS,
    account_ordinals,
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
        ("kind", pa.string()),
        ("original_id", pa.string()),
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
        ("sequence", pa.int64()),
    ]
)

DEFAULTS: dict[str, dict[str, Any]] = {
    "accounts": {"protected": False},
    "posts": {
        "text": "",
        "visibility": "public",
        "like_count": 0,
        "repost_count": 0,
        "reply_count": 0,
    },
}
"""What a new row gets for a value it does not give (``kind``: see ``KIND_OF_NEW_POST``)."""
NEVER_BLANK: dict[str, frozenset[str]] = {
    "accounts": frozenset({"protected"}),
    "posts": frozenset({"visibility"}),
}
"""Columns an update may leave out but never send blank: a blank ``visibility`` or ``protected``
is a platform bug, and taking it as the default would relax a direct message or a private
account."""
ORIGINAL_KINDS = frozenset({PostKind.REPOST, PostKind.QUOTE})
"""Kinds that point at another post (``original_id``)."""
KIND_OF_NEW_POST = "CASE WHEN s.reply_to IS NULL THEN 'post' ELSE 'reply' END"
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a deletion time may be: platforms report deletions that happened, and
their clocks may run a little ahead of ours."""

_SCRATCH = "consentry.scratch"
_CACHE_KIB = "consentry.cache_kib"
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
def bulk_session(engine: Engine, *, cache_kib: int = _SQLITE_CACHE_KIB) -> Iterator[Session]:
    """One transaction for a bulk load; SQLite scratch databases are detached once it ends.
    ``cache_kib``: SQLite's page cache while it stages rows."""
    with engine.connect() as conn:
        session = Session(bind=conn, expire_on_commit=False)
        session.info[_CACHE_KIB] = cache_kib
        try:
            with session.begin():
                yield session
        finally:
            scratch = session.info.pop(_SCRATCH, None)
            session.close()
            if scratch is not None:
                raw: Any = conn.connection.driver_connection
                for alias, folder in scratch["attached"]:
                    raw.execute(f"DETACH DATABASE {alias}")
                    shutil.rmtree(folder, ignore_errors=True)
                raw.execute(f"PRAGMA cache_size = {scratch['cache_size']}")


def existing_ids(
    session: Session, column: InstrumentedAttribute[Any], values: pa.Array
) -> pa.Array:
    """Which of ``values`` (strings) are already in ``column``, seen from this transaction.

    One query with the distinct values as one parameter (``store.db.id_list_in``)."""
    unique = pc.unique(values.drop_null()).to_pylist()
    if not unique:
        return pa.array([], pa.string())
    conn = session.connection()
    table, name = column.class_.__tablename__, column.key
    within, params = id_list_in(conn, unique)
    found = conn.execute(text(f"SELECT {name} FROM {table} WHERE {name} {within}"), params)
    return pa.array(found.scalars().all(), pa.string())


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
        cache_kib = int(session.info.get(_CACHE_KIB, _SQLITE_CACHE_KIB))
        conn.exec_driver_sql(f"PRAGMA cache_size = -{cache_kib}")
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
    columns = ", ".join(table.column_names)
    # The target's column types without its NOT NULL constraints: a null stages "not given".
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {name} ON COMMIT DROP AS SELECT {columns} FROM {target} WITH NO DATA"
    )
    buffer = io.BytesIO()
    pcsv.write_csv(table, buffer, pcsv.WriteOptions(include_header=False))
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


def _literal(value: Any, dialect: str) -> str:
    if isinstance(value, bool):
        return ("1" if value else "0") if dialect == "sqlite" else ("true" if value else "false")
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _earliest(column: str) -> str:
    """The earlier of the stored and the sent time (nulls ignored): a deletion only moves back."""
    return (
        f"CASE WHEN s.{column} IS NULL OR (t.{column} IS NOT NULL AND t.{column} <= s.{column}) "
        f"THEN t.{column} ELSE s.{column} END"
    )


def merge(
    session: Session,
    target: str,
    table: pa.Table,
    *,
    inserted_as: dict[str, str] | None = None,
    updated_as: dict[str, str] | None = None,
) -> LoadCounts:
    """Insert the new rows of ``table`` into ``target`` by id, then update the others where a
    value differs. A null in ``table`` means "not given": a new row gets the default
    (``DEFAULTS``), a stored row keeps its value. ``inserted_as`` and ``updated_as`` are SQL
    expressions over ``s`` (the staged row) and ``t`` (the stored row) for columns that follow
    another rule. ``table`` has unique ids and the target's column types."""
    if table.num_rows == 0:
        return LoadCounts(0, 0, 0, 0)
    staged = _stage(session, target, table)
    conn = session.connection()
    dialect = conn.dialect.name
    distinct = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    names = table.column_names
    defaults = DEFAULTS.get(target, {})
    values = []
    for column in names:
        if column in (inserted_as or {}):
            values.append(f"coalesce(s.{column}, {inserted_as[column]})")  # type: ignore[index]
        elif column in defaults:
            values.append(f"coalesce(s.{column}, {_literal(defaults[column], dialect)})")
        else:
            values.append(f"s.{column}")
    existing = conn.exec_driver_sql(
        f"SELECT count(*) FROM {staged} s WHERE EXISTS (SELECT 1 FROM {target} t WHERE t.id = s.id)"
    ).scalar_one()
    inserted = conn.exec_driver_sql(
        f"INSERT INTO {target} ({', '.join(names)}) SELECT {', '.join(values)} FROM {staged} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.id = s.id) "
        "ON CONFLICT (id) DO NOTHING"
    ).rowcount
    if not existing:  # a first load: nothing to update (the common case for large files)
        return LoadCounts(table.num_rows, inserted, 0, table.num_rows - inserted)
    changes = []
    for column in (c for c in names if c != "id"):
        new = (updated_as or {}).get(column) or (
            _earliest(column) if column == "deleted_at" else f"coalesce(s.{column}, t.{column})"
        )
        changes.append((f"{column} = {new}", f"t.{column} {distinct} {new}"))
    updated = 0
    if changes:
        updated = conn.exec_driver_sql(
            f"UPDATE {target} AS t SET {', '.join(c for c, _ in changes)} FROM {staged} s "
            f"WHERE t.id = s.id AND ({' OR '.join(d for _, d in changes)})"
        ).rowcount
    return LoadCounts(table.num_rows, inserted, updated, table.num_rows - inserted - updated)


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


def load_accounts(session: Session, table: pa.Table) -> LoadCounts:
    """Insert or update accounts (``ACCOUNTS_SCHEMA``) by id."""
    return merge(session, "accounts", table.select(ACCOUNTS_SCHEMA.names))


def load_posts(session: Session, table: pa.Table) -> LoadCounts:
    """Insert or update posts (``POSTS_SCHEMA``) by id; their accounts must exist.

    A new post without a kind is a reply if it answers one, else a post; an update without a
    kind keeps the stored kind and original; one with a kind sets both as sent."""
    return merge(
        session,
        "posts",
        table.select(POSTS_SCHEMA.names),
        inserted_as={"kind": KIND_OF_NEW_POST},
        updated_as={
            "original_id": "CASE WHEN s.kind IS NULL THEN t.original_id ELSE s.original_id END"
        },
    )


CONSENT_CONTENT = (
    "account_id",
    "purpose",
    "collaborator_id",
    "decision",
    "source",
    "policy_version",
    "effective_at",
    "recorded_at",
)
"""What an event says; sending it again under its external id must say the same."""
_GIVEN_ONLY = ("effective_at", "recorded_at")
"""Compared only when the sender gave them (the API defaults both to the time of arrival)."""


@dataclass(frozen=True)
class Resent:
    """An event sent again under a recorded external id, with other content."""

    row: int
    """Its index in the table sent."""
    external_id: str
    event_id: int
    field: str
    """The first field (in ``CONSENT_CONTENT`` order) that differs."""
    stored: Any
    sent: Any

    def message(self) -> str:
        def shown(value: Any) -> str:
            return repr(value.isoformat() if isinstance(value, datetime) else value)

        return (
            f"external_id {self.external_id!r} was recorded as event {self.event_id} with "
            f"{self.field}={shown(self.stored)}, not {shown(self.sent)}; consent events are "
            "never changed: record the new choice as a new event with its own external_id"
        )


def resent_events(session: Session, sent: pa.Table) -> tuple[pa.Array, list[Resent]]:
    """Which events of ``sent`` (``CONSENT_SCHEMA``) are already recorded (a mask), and those
    among them whose content differs. The one check of "sent again", for the bulk import and
    the API alike."""
    ids = sent["external_id"].combine_chunks()
    known = existing_ids(session, ConsentEvent.external_id, ids)
    mask = pc.fill_null(pc.is_in(ids, value_set=known), False)
    if not len(known):
        return mask, []
    columns = ("id", "external_id", *CONSENT_CONTENT)
    rows = session.execute(
        select(*(getattr(ConsentEvent, c) for c in columns)).where(
            ConsentEvent.external_id.in_(known.to_pylist())
        )
    ).all()
    schema = pa.schema([("id", pa.int64()), *(CONSENT_SCHEMA.field(c) for c in columns[1:])])
    stored = pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in rows], schema)
    again = sent.select(["external_id", *CONSENT_CONTENT]).append_column(
        "row", pa.array(range(sent.num_rows), pa.int64())
    )
    paired = again.filter(mask).join(stored, "external_id", right_suffix="_stored")
    differs = []
    for column in CONSENT_CONTENT:
        new, old = paired[column], paired[f"{column}_stored"]
        same = pc.or_kleene(pc.equal(new, old), pc.and_(pc.is_null(new), pc.is_null(old)))
        if column in _GIVEN_ONLY:
            same = pc.or_kleene(same, pc.is_null(new))
        differs.append(pc.invert(pc.fill_null(same, False)))
    found = []
    for i, record in enumerate(paired.to_pylist()):
        changed = [c for c, d in zip(CONSENT_CONTENT, differs, strict=True) if d[i].as_py()]
        if changed:
            found.append(
                Resent(
                    record["row"],
                    record["external_id"],
                    record["id"],
                    changed[0],
                    record[f"{changed[0]}_stored"],
                    record[changed[0]],
                )
            )
    return mask, sorted(found, key=lambda r: r.row)


def append_consent_events(session: Session, table: pa.Table) -> LoadCounts:
    """Append events (``CONSENT_SCHEMA``) to the hash-chained ledger under the head lock, in
    the order sent: the table's, or a stable sort by ``sequence`` when given (never re-derived
    from ids or times: DESIGN rule 7). External ids already recorded are skipped; the caller
    has refused those re-sent with other content (``resent_events``). A missing
    ``recorded_at`` is the time of the import."""
    head = lock_head(session, CONSENT_CHAIN)
    known = existing_ids(session, ConsentEvent.external_id, table["external_id"])
    fresh = table.filter(pc.invert(pc.is_in(table["external_id"], value_set=known)))
    if pc.any(fresh["sequence"].is_valid()).as_py():
        fresh = fresh.take(pc.sort_indices(fresh["sequence"]))  # Arrow's sort is stable
    recorded = pc.fill_null(fresh["recorded_at"], pa.scalar(datetime.now(UTC), TS))
    fresh = fresh.set_column(fresh.schema.get_field_index("recorded_at"), "recorded_at", recorded)
    rows = fresh.select(CONSENT_FIELDS).to_pylist()
    ordinals = account_ordinals(session, [row["account_id"] for row in rows]) if rows else {}
    records = []
    prev = head.last_hash
    for row in rows:
        digest = canonical_hash(row, prev)
        ordinal = ordinals[row["account_id"]]
        records.append({**row, "account_ordinal": ordinal, "prev_hash": prev, "hash": digest})
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


def refuse_future_deletion(at: datetime, now: datetime, field: str = "deleted_at") -> None:
    """Platforms report deletions that happened: one dated beyond ``CLOCK_SKEW`` is refused."""
    if at > now + CLOCK_SKEW:
        raise InvalidInput(
            f"{at.isoformat()!r} is in the future; send a deletion once it has happened "
            f"(up to {int(CLOCK_SKEW.total_seconds() // 60)} minutes of clock skew are accepted)",
            field=field,
        )


def _check(
    table: str, fields: dict[str, Any], schema: pa.Schema, required: Sequence[str], new: bool
) -> dict[str, Any]:
    """The fields to set: checked, with nulls ("not given", keep the stored value) left out."""
    unknown = sorted(set(fields) - set(schema.names))
    if unknown:
        raise InvalidInput(
            f"unknown field; expected one of {', '.join(schema.names)}", field=unknown[0]
        )
    for name in sorted(NEVER_BLANK[table] & set(fields)):
        if fields[name] is None:
            raise InvalidInput("may not be null; leave it out to keep the stored value", field=name)
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
    if fields.get("deleted_at") is not None:
        refuse_future_deletion(fields["deleted_at"], datetime.now(UTC))
    return {name: value for name, value in fields.items() if value is not None}


def _apply(
    session: Session, row: Any, fields: dict[str, Any], kind: str, actor: str, action: str = ""
) -> Any:
    """Set ``fields`` on ``row`` (new or existing); one audit event if anything changed. A
    deletion takes effect at the earliest time sent."""
    is_new = row not in session
    if fields.get("deleted_at") is not None and row.deleted_at is not None:
        fields = {**fields, "deleted_at": min(fields["deleted_at"], row.deleted_at)}
    changed = sorted(
        name for name, value in fields.items() if name != "id" and getattr(row, name) != value
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
    """Create the account or update the fields given (null: keep; a deletion only moves back)."""
    account = session.get(Account, fields.get("id"))
    fields = _check("accounts", fields, ACCOUNTS_SCHEMA, _ACCOUNT_REQUIRED, account is None)
    if "jurisdiction" in fields:
        code = str(fields["jurisdiction"]).strip().upper()
        if not valid_jurisdiction(code):
            raise InvalidInput(
                f"{code!r} is not an ISO 3166 country or subdivision (e.g. 'DE', 'US-CA')",
                field="jurisdiction",
            )
        fields["jurisdiction"] = code
    if account is None:
        account = Account(id=fields["id"], **DEFAULTS["accounts"])
    return _apply(session, account, fields, "account", actor)


def post_kind(fields: dict[str, Any], *, new: bool) -> dict[str, Any]:
    """``kind`` and ``original_id`` as ``load_posts`` sets them, checked as ``ingest.validate``
    checks a file's: an original for reposts and quotes, and only for them."""
    kind, original = fields.get("kind"), fields.get("original_id")
    if kind is None:
        if original is not None:
            raise InvalidInput(
                "is only for kind repost or quote; give the kind", field="original_id"
            )
        if new:
            fields["kind"] = PostKind.REPLY if fields.get("reply_to") else PostKind.POST
        return fields
    if kind not in set(PostKind):
        raise InvalidInput(f"{kind!r} is not one of {', '.join(PostKind)}", field="kind")
    if kind in ORIGINAL_KINDS and original is None:
        raise InvalidInput(f"is required for kind {kind}", field="original_id")
    if kind not in ORIGINAL_KINDS and original is not None:
        raise InvalidInput(f"is only for kind repost or quote, not {kind}", field="original_id")
    return {**fields, "original_id": original}


def upsert_post(session: Session, *, actor: str = "service", **fields: Any) -> Post:
    """Create the post or update the fields given (null: keep; a deletion only moves back)."""
    post = session.get(Post, fields.get("id"))
    fields = _check("posts", fields, POSTS_SCHEMA, _POST_REQUIRED, post is None)
    fields = post_kind(fields, new=post is None)
    if "account_id" in fields and session.get(Account, fields["account_id"]) is None:
        raise NotFound("account", fields["account_id"])
    if "visibility" in fields and fields["visibility"] not in set(Visibility):
        raise InvalidInput(
            f"{fields['visibility']!r} is not one of {', '.join(Visibility)}", field="visibility"
        )
    if post is None:
        post = Post(id=fields["id"], **DEFAULTS["posts"])
    return _apply(session, post, fields, "post", actor)


def mark_post_deleted(
    session: Session, post_id: str, at: datetime | None = None, *, actor: str = "service"
) -> Post:
    """Record that the post was deleted (the earliest deletion time sent counts)."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound("post", post_id)
    return _apply(session, post, {"deleted_at": _moment(at)}, "post", actor, "delete")


def mark_account_deleted(
    session: Session, account_id: str, at: datetime | None = None, *, actor: str = "service"
) -> Account:
    """Record that the account was deleted (the earliest deletion time sent counts)."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    return _apply(session, account, {"deleted_at": _moment(at)}, "account", actor, "delete")


def _moment(at: datetime | None) -> datetime:
    now = datetime.now(UTC)
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput(
            f"{at.isoformat()!r} has no time zone; add 'Z' or '+00:00'", field="deleted_at"
        )
    refuse_future_deletion(at, now)
    return at.astimezone(UTC)
