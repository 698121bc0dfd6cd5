"""The one reader of the consent rule's inputs, for every reader of consent.

The export, single and bulk may-share, the settings page and its JSON twin, ``consentry consent
check|summary`` and GPC all judge consent from the same ``ConsentInputs``: accounts and the
ledger (in ledger order) as Arrow tables, and the ``Reference`` (published policies,
collaborators with their listing time, licenses with their term, known purposes). Nothing else in
the code reads these tables to decide consent, so a fix to what the rule reads is made once.

Two ways in, one shape out: a whole-platform read streams through ADBC (``arrow_io``; on SQLite in
a child process), and a read of a few accounts (a request) is one indexed query per table with
the ids as one JSON parameter.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, and_, bindparam, select, text
from sqlalchemy.orm import Session

from consentry.domain import consent_bulk, consent_snapshot
from consentry.domain.consent import license_in_force
from consentry.domain.types import (
    AccountFacts,
    CollaboratorFacts,
    ConsentEventFacts,
    ConsentSource,
    Decision,
    LicenseFacts,
    PolicyFacts,
    PostFacts,
)
from consentry.errors import InvalidInput, NotFound
from consentry.store.arrow_io import read_batches
from consentry.store.consent import post_facts
from consentry.store.db import connected, id_list_in
from consentry.store.ledger import AUDIT_CHAIN
from consentry.store.models import (
    Account,
    Collaborator,
    ConsentEvent,
    LedgerHead,
    License,
    Post,
    Purpose,
)
from consentry.store.parties import collaborator_facts, license_facts
from consentry.store.policies import policy_facts

ACCOUNTS_WITH_HANDLE = consent_bulk.ACCOUNT_SCHEMA.append(
    pa.field("handle", pa.string(), nullable=False)
)


@dataclass(frozen=True)
class Reference:
    """The inputs that change rarely (every change of them is audited)."""

    policies: list[PolicyFacts]
    collaborators: dict[str, CollaboratorFacts]
    licenses: list[LicenseFacts]
    """Every license, in id order, whatever its status."""
    purposes: frozenset[str]

    def collaborator(self, collaborator_id: str) -> CollaboratorFacts:
        found = self.collaborators.get(collaborator_id)
        if found is None:
            raise NotFound("collaborator", collaborator_id)
        return found

    def licenses_for(
        self, collaborator_id: str, purpose: str, moment: datetime
    ) -> list[LicenseFacts]:
        """The licenses under which the collaborator may receive data for the purpose at
        ``moment``: an active collaborator, a license in force (``domain.license_in_force``)."""
        collaborator = self.collaborators.get(collaborator_id)
        if collaborator is None or collaborator.status != "active":
            return []
        return [
            lic
            for lic in self.licenses
            if lic.collaborator_id == collaborator_id
            and lic.purpose == purpose
            and license_in_force(lic, moment)
        ]

    def licensed_pairs(self, moment: datetime) -> list[tuple[CollaboratorFacts, str]]:
        """(collaborator, purpose) for every active collaborator with a license in force."""
        pairs: dict[tuple[str, str], tuple[CollaboratorFacts, str]] = {}
        for lic in self.licenses:
            collaborator = self.collaborators.get(lic.collaborator_id)
            if collaborator and collaborator.status == "active" and license_in_force(lic, moment):
                pairs.setdefault((lic.collaborator_id, lic.purpose), (collaborator, lic.purpose))
        return list(pairs.values())

    def check(self, *, collaborator_id: str, purpose: str) -> None:
        """Refuse a question naming a collaborator or purpose that does not exist."""
        self.collaborator(collaborator_id)
        if purpose not in self.purposes:
            raise InvalidInput(
                f"unknown purpose {purpose!r}; known: {sorted(self.purposes)}", field="purpose"
            )


def load_reference(session: Session) -> Reference:
    return Reference(
        policies=policy_facts(session),
        collaborators={
            c.id: collaborator_facts(c)
            for c in session.scalars(select(Collaborator).order_by(Collaborator.id))
        },
        licenses=[
            license_facts(lic) for lic in session.scalars(select(License).order_by(License.id))
        ],
        purposes=frozenset(session.scalars(select(Purpose.key))),
    )


AUDIT_HEAD = select(LedgerHead.last_id).where(LedgerHead.chain == AUDIT_CHAIN)


class Unread:
    """The type of ``UNREAD``: no marker was given, so the cache reads it."""


UNREAD = Unread()


class ReferenceCache:
    """A process's ``Reference``, reloaded when the audit chain's head moves.

    One indexed read per request tells whether anything may have changed. Consent events are
    never cached; a withdrawal counts from the next request on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marker: int | None = None
        self._reference: Reference | None = None

    def get(self, conn: Connection, marker: int | Unread | None = UNREAD) -> Reference:
        """The reference as of ``marker`` (the audit head, read now unless the caller read it
        in its own statement: ``PostInputs.reference_marker``)."""
        if isinstance(marker, Unread):
            marker = conn.scalar(AUDIT_HEAD)
        with self._lock:
            if self._reference is not None and marker == self._marker:
                return self._reference
        # Loaded after the marker was read, so it is at least as new as the marker says.
        with Session(bind=conn) as session:
            reference = load_reference(session)
        with self._lock:
            self._marker, self._reference = marker, reference
        return reference


@dataclass(frozen=True)
class ConsentInputs:
    """Everything the consent rule reads, for some accounts or all of them."""

    accounts: pa.Table
    """``consent_bulk.ACCOUNT_SCHEMA`` (plus ``handle`` when asked for)."""
    events: pa.Table
    """``consent_bulk.EVENT_SCHEMA``, in ledger order (ascending id)."""
    reference: Reference

    def snapshot(
        self,
        *,
        purpose: str,
        collaborator_id: str,
        cutoff: datetime,
        as_of: datetime,
    ) -> pa.Table:
        """``consent_snapshot.account_snapshot`` of these inputs for one collaborator, purpose."""
        return consent_snapshot.account_snapshot(
            self.accounts,
            self.events,
            self.reference.policies,
            purpose=purpose,
            collaborator_id=collaborator_id,
            listed_at=self.reference.collaborator(collaborator_id).listed_at,
            cutoff=cutoff,
            as_of=as_of,
        )

    def master_snapshot(
        self,
        *,
        purpose: str,
        cutoff: datetime,
        as_of: datetime,
    ) -> pa.Table:
        """The snapshot of the master switch alone (no per-collaborator event counts)."""
        return consent_snapshot.account_snapshot(
            self.accounts,
            self.events,
            self.reference.policies,
            purpose=purpose,
            collaborator_id=consent_bulk.MASTER_SWITCH_ONLY,
            listed_at=None,
            cutoff=cutoff,
            as_of=as_of,
        )

    def account(self, account_id: str) -> AccountFacts:
        """One account as the one-at-a-time rule reads it."""
        rows = self.accounts.filter(pc.equal(self.accounts["id"], account_id)).to_pylist()
        if not rows:
            raise NotFound("account", account_id)
        return account_facts(rows[0])

    def events_of(self, account_id: str) -> list[ConsentEventFacts]:
        """One account's events, in ledger order."""
        mine = self.events.filter(pc.equal(self.events["account_id"], account_id))
        return [event_facts(row) for row in mine.to_pylist()]


def account_facts(row: Mapping[str, Any]) -> AccountFacts:
    return AccountFacts(
        id=row["id"],
        jurisdiction=row["jurisdiction"],
        protected=row["protected"],
        birth_date=row["birth_date"],
        is_minor=row["is_minor"],
        deleted_at=row["deleted_at"],
    )


def event_facts(row: Mapping[str, Any]) -> ConsentEventFacts:
    return ConsentEventFacts(
        id=row["id"],
        account_id=row["account_id"],
        purpose=row["purpose"],
        collaborator_id=row["collaborator_id"],
        decision=Decision(row["decision"]),
        effective_at=row["effective_at"],
        recorded_at=row["recorded_at"],
        source=ConsentSource(row["source"]),
    )


@dataclass(frozen=True)
class PostInputs:
    """What the one-at-a-time rule reads for one post and purpose."""

    post: PostFacts
    account: AccountFacts
    events: list[ConsentEventFacts]
    """The author's events for the purpose, in ledger order."""
    reference_marker: int | None
    """The ``ReferenceCache`` marker, read in the same statement."""


_POST, _ACCOUNT, _EVENT = (
    Post.__table__.alias("p"),
    Account.__table__.alias("a"),
    (ConsentEvent.__table__.alias("e")),
)
_EVENT_COLUMNS = [n for n in consent_bulk.EVENT_SCHEMA.names if n not in ("account_id", "purpose")]
POST_INPUTS = (
    select(
        *(_POST.c[n] for n in consent_bulk.POST_SCHEMA.names),
        *(_ACCOUNT.c[n].label(f"a_{n}") for n in consent_bulk.ACCOUNT_SCHEMA.names),
        *(_EVENT.c[n].label(f"e_{n}") for n in _EVENT_COLUMNS),
        AUDIT_HEAD.scalar_subquery().label("reference_marker"),
    )
    .join_from(_POST, _ACCOUNT, _ACCOUNT.c.id == _POST.c.account_id)
    .outerjoin(
        _EVENT,
        and_(_EVENT.c.account_id == _POST.c.account_id, _EVENT.c.purpose == bindparam("purpose")),
    )
    .where(_POST.c.id == bindparam("post_id"))
    .order_by(_EVENT.c.id)
)


def post_inputs(conn: Connection, *, post_id: str, purpose: str) -> PostInputs | None:
    """One post's inputs to the rule (None for an unknown post) in one indexed statement: the
    hot "may share?" path pays one round trip, not one per table."""
    rows = conn.execute(POST_INPUTS, {"post_id": post_id, "purpose": purpose}).all()
    if not rows:
        return None
    first = rows[0]._mapping
    events = [
        event_facts(
            {
                **{n: row._mapping[f"e_{n}"] for n in _EVENT_COLUMNS},
                "account_id": first["account_id"],
                "purpose": purpose,
            }
        )
        for row in rows
        if row._mapping["e_id"] is not None
    ]
    return PostInputs(
        post=post_facts(rows[0]),
        account=account_facts({n: first[f"a_{n}"] for n in consent_bulk.ACCOUNT_SCHEMA.names}),
        events=events,
        reference_marker=first["reference_marker"],
    )


def consent_inputs(
    db: Engine | Connection,
    *,
    purpose: str | None = None,
    account_ids: Sequence[str] | None = None,
    reference: Reference | None = None,
    with_handles: bool = False,
) -> ConsentInputs:
    """The consent inputs of every account (``db`` an Engine: a streamed whole-platform read) or
    of ``account_ids`` (any ``db``: one indexed query per table), the ledger optionally limited
    to one purpose. ``reference`` comes from a cache when the caller has one."""
    account_schema = ACCOUNTS_WITH_HANDLE if with_handles else consent_bulk.ACCOUNT_SCHEMA
    if account_ids is None:
        if not isinstance(db, Engine):
            raise TypeError("a whole-platform read needs an Engine (it streams through ADBC)")
        # Both reads start at once (on SQLite each in its own child process) and overlap.
        quoted = purpose.replace("'", "''") if purpose else None
        account_batches = read_batches(db, table="accounts", schema=account_schema)
        event_batches = read_batches(
            db,
            table="consent_events",
            schema=consent_bulk.EVENT_SCHEMA,
            where=f"purpose = '{quoted}'" if quoted else "",
            order_by="id",
        )
        accounts = pa.Table.from_batches(list(account_batches), schema=account_schema)
        events = pa.Table.from_batches(list(event_batches), schema=consent_bulk.EVENT_SCHEMA)
    else:
        with connected(db) as conn:
            accounts = _select(conn, "accounts", "id", account_schema, account_ids)
            events = _select(
                conn,
                "consent_events",
                "account_id",
                consent_bulk.EVENT_SCHEMA,
                account_ids,
                purpose,
            )
    if reference is None:
        with connected(db) as conn, Session(bind=conn) as session:
            reference = load_reference(session)
    return ConsentInputs(accounts=accounts, events=events, reference=reference)


def posts_by_id(db: Engine | Connection, ids: pa.Array | Sequence[str] | None) -> pa.Table:
    """Posts as the rule reads them (``consent_bulk.POST_SCHEMA``): those of ``ids`` (one
    indexed query), or with ``ids`` None every delivered post (``db`` an Engine; streamed)."""
    schema = consent_bulk.POST_SCHEMA
    if ids is None:
        if not isinstance(db, Engine):
            raise TypeError("a read of every delivered post needs an Engine (it streams)")
        batches = read_batches(
            db,
            table="posts",
            schema=schema,
            where="id IN (SELECT post_id FROM delivery_members)",
        )
        return pa.Table.from_batches(list(batches), schema=schema)
    values = ids.to_pylist() if isinstance(ids, pa.Array | pa.ChunkedArray) else list(ids)
    with connected(db) as conn:
        within, params = id_list_in(conn, values)
        sql = f"SELECT {_columns(conn, schema)} FROM posts WHERE id {within}"
        return select_table(conn, sql, params, schema)


def public_posts(engine: Engine) -> pa.Table:
    """Every public post not deleted (``consent_bulk.POST_SCHEMA``), streamed: the pages a
    crawler can reach, which the rights signals mark."""
    batches = read_batches(
        engine,
        table="posts",
        schema=consent_bulk.POST_SCHEMA,
        where="visibility = 'public' AND deleted_at IS NULL",
        order_by="id",
    )
    return pa.Table.from_batches(list(batches), schema=consent_bulk.POST_SCHEMA)


def _select(
    conn: Connection,
    table: str,
    key: str,
    schema: pa.Schema,
    ids: Sequence[str],
    purpose: str | None = None,
) -> pa.Table:
    """Rows of ``table`` whose ``key`` is among ``ids``, as ``schema``, in id order."""
    within, params = id_list_in(conn, ids)
    sql = f"SELECT {_columns(conn, schema)} FROM {table} WHERE {key} {within}"
    if purpose is not None:
        sql += " AND purpose = :purpose"
        params["purpose"] = purpose
    return select_table(conn, sql + " ORDER BY id", params, schema)


def _columns(conn: Connection, schema: pa.Schema) -> str:
    """The select list of ``schema``'s columns; on PostgreSQL times come as microseconds since
    the epoch (exact: EXTRACT gives a numeric), which the driver reads as plain integers: its
    aware datetimes cost more than the rest of a bulk check's 10,000 rows together."""
    if conn.dialect.name != "postgresql":
        return ", ".join(schema.names)
    return ", ".join(
        f"CAST(EXTRACT(EPOCH FROM {f.name}) * 1000000 AS BIGINT) AS {f.name}"
        if pa.types.is_timestamp(f.type)
        else f.name
        for f in schema
    )


def select_table(conn: Connection, sql: str, params: dict[str, Any], schema: pa.Schema) -> pa.Table:
    """The result of ``sql`` as an Arrow table of ``schema``, fetched from the driver's cursor
    as plain tuples: for the 10,000 rows of a bulk check, SQLAlchemy's ``Row`` objects cost
    more than the query."""
    result = conn.execute(text(sql), params)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return rows_to_table(rows, schema)


def rows_to_table(rows: Sequence[Sequence[object]], schema: pa.Schema) -> pa.Table:
    """Result rows as an Arrow table of ``schema``, converted column-wise."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table(
        [_column(values, f.type) for values, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _column(values: Sequence, dtype: pa.DataType) -> pa.Array:
    """SQLite hands back times and dates as text and booleans as 0/1 (to textual SQL); cast them
    in Arrow. Datetimes (typed columns) convert straight to the type: inferring a type from
    aware datetimes costs about 40 times as much."""
    if not (pa.types.is_timestamp(dtype) or pa.types.is_date(dtype) or pa.types.is_boolean(dtype)):
        return pa.array(values, dtype)
    if pa.types.is_timestamp(dtype):
        first = next((v for v in values if v is not None), None)
        if isinstance(first, datetime):
            return pa.array(values, dtype)
        if isinstance(first, int):  # microseconds since the epoch (``_columns``)
            return pa.array(values, pa.int64()).cast(pa.timestamp("us", tz=dtype.tz)).cast(dtype)
    array = pa.array(values)
    if pa.types.is_string(array.type) and pa.types.is_timestamp(dtype):
        array = array.cast(pa.timestamp(dtype.unit))  # stored as UTC without a zone
    return array.cast(dtype)
