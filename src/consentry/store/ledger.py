"""Hash-chained, append-only ledgers: consent events and audit events.

Each row carries the hash of the previous row of its chain and the SHA-256 of its own canonical
form (which includes that previous hash), so editing, deleting or reordering rows shows. Appends
lock the chain's head row, which serialises concurrent writers on both databases.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from consentry.domain.types import ConsentSource, Decision
from consentry.errors import NotFound
from consentry.store.db import id_list_in
from consentry.store.models import AuditEvent, ConsentEvent, LedgerHead

GENESIS = "0" * 64
CONSENT_CHAIN = "consent"
AUDIT_CHAIN = "audit"

CONSENT_FIELDS = (
    "account_id",
    "purpose",
    "collaborator_id",
    "decision",
    "source",
    "policy_version",
    "effective_at",
    "recorded_at",
    "external_id",
)
AUDIT_FIELDS = ("at", "actor", "action", "object_type", "object_id", "details")


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def _canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def canonical_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 of the sorted-key JSON of ``fields`` plus the previous hash."""
    payload = _canonical_json({**fields, "prev_hash": prev_hash})
    return hashlib.sha256(payload.encode()).hexdigest()


class Hole:
    """A value of ``canonical_pieces``' fields that is known only under the head lock: the
    database fills it in (``EVENT_ID``: a number)."""


EVENT_ID = Hole()


def canonical_pieces(fields: dict[str, Any]) -> list[str]:
    """``canonical_hash``'s payload cut around its holes: the text before each ``Hole`` of
    ``fields`` (nested dicts included) and before the previous hash, in the payload's order,
    then the text after the last. Joined with the holes' values and the previous hash between
    them, they are the payload byte for byte (a test holds them equal), so the database can
    chain the rows under the head lock without a round trip to Python
    (``append_consents_at_once``)."""
    pieces = [""]

    def emit(value: Any) -> None:
        if isinstance(value, Hole):
            pieces.append("")
        elif value is _PREV:
            pieces[-1] += '"'
            pieces.append('"')
        elif isinstance(value, dict) and _holds_hole(value):
            for n, (key, item) in enumerate(sorted(value.items())):
                pieces[-1] += ("{" if n == 0 else ",") + _canonical_json(key) + ":"
                emit(item)
            pieces[-1] += "}"
        else:
            pieces[-1] += _canonical_json(value)

    emit({**fields, "prev_hash": _PREV})
    return pieces


_PREV = object()


def _holds_hole(value: dict[str, Any]) -> bool:
    return any(
        v is _PREV or isinstance(v, Hole) or (isinstance(v, dict) and _holds_hole(v))
        for v in value.values()
    )


HELD = "consentry.ledger_heads_held"
"""``session.info`` key: the heads the transaction holds (``hold_heads``), by chain. They are
kept there because the session's identity map holds its objects weakly: a head no one refers
to is dropped from it, and finding it again would cost a query."""


def _lock_head(session: Session, chain: str) -> LedgerHead:
    held: dict[str, LedgerHead] = session.info.get(HELD, {})
    if chain in held:
        return held[chain]  # ours until the commit; no second lock needed
    locking = select(LedgerHead).where(LedgerHead.chain == chain).with_for_update()
    head = session.scalars(locking).one_or_none()
    if head is None:
        # The chain's first append: two processes may both get here, so the head is created
        # only if still absent (the other's insert waits for this one), then locked.
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
        session.execute(
            insert(LedgerHead)
            .values(chain=chain, last_id=0, last_hash=GENESIS)
            .on_conflict_do_nothing(index_elements=["chain"])
        )
        head = session.scalars(locking).one()
    return head


_HOLD_HEADS = (
    select(LedgerHead)
    .where(LedgerHead.chain.in_((CONSENT_CHAIN, AUDIT_CHAIN)))
    .order_by(LedgerHead.chain.desc())  # consent, then audit: rows are locked as sorted
    .with_for_update()
)


def hold_heads(session: Session) -> None:
    """Lock both chains' heads for the rest of the transaction, in one statement (consent first,
    the order every appender takes them in); later appends in it find them held and take no
    lock of their own. A group commit takes them before it collects its batch
    (``store.group_commit``)."""
    held = {head.chain: head for head in session.scalars(_HOLD_HEADS)}
    if len(held) < 2:  # a chain's first append creates its head, in the same order
        held = {chain: _lock_head(session, chain) for chain in (CONSENT_CHAIN, AUDIT_CHAIN)}
    session.info[HELD] = held


lock_head = _lock_head
"""Public name for bulk appenders (store.content) that hold the head lock for many events."""


Chained = TypeVar("Chained", ConsentEvent, AuditEvent)

_HEADS = cast(Table, LedgerHead.__table__)
_MOVE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.chain == bindparam("head"))
    .values(last_id=bindparam("id"), last_hash=bindparam("hash"))
)


def _extend(
    session: Session,
    chain: str,
    model: type[Chained],
    rows: Sequence[dict[str, Any]],
    unhashed: Sequence[dict[str, Any]] | None = None,
) -> list[Chained]:
    """Append ``rows`` (the hashed fields) to ``chain`` in the order given, each with the
    columns of its entry in ``unhashed``: one multi-row INSERT with RETURNING, whose ids must
    come back in that order, as the chain's order is the ids'.

    The INSERT is Core's, not the ORM's unit of work (which cost most of a group commit's
    batch: a consent write is two rows); the rows come back as persistent objects of the
    session, as an ORM flush would leave them."""
    head = _lock_head(session, chain)
    prev = head.last_hash
    values = []
    for i, fields in enumerate(rows):
        digest = canonical_hash(fields, prev)
        values.append(
            {**fields, **(unhashed[i] if unhashed else {}), "prev_hash": prev, "hash": digest}
        )
        prev = digest
    table = cast(Table, model.__table__)
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = list(session.execute(statement, values).scalars())
    if ids != sorted(ids) or len(set(ids)) != len(ids) or ids[0] <= head.last_id:
        raise RuntimeError(f"the {chain} chain's new ids are out of order: {ids}")
    events = []
    for event_id, fields in zip(ids, values, strict=True):
        event = model(id=event_id, **fields)
        make_transient_to_detached(event)
        events.append(event)
    session.add_all(events)  # persistent at once: already inserted, nothing to flush
    # The head moves by Core too, and the object is told it is stored: the ORM's flush of a
    # changed head cost as much as both INSERTs.
    session.connection().execute(_MOVE_HEAD, {"head": chain, "id": ids[-1], "hash": prev})
    set_committed_value(head, "last_id", ids[-1])
    set_committed_value(head, "last_hash", prev)
    return events


def consent_fields(
    *,
    account_id: str,
    purpose: str,
    decision: Decision,
    source: ConsentSource,
    effective_at: datetime | None = None,
    collaborator_id: str | None = None,
    policy_version: str | None = None,
    external_id: str | None = None,
    recorded_at: datetime | None = None,
) -> dict[str, Any]:
    """A consent event's chained fields (``CONSENT_FIELDS``); both times default to now."""
    recorded_at = recorded_at or datetime.now(UTC)
    return {
        "account_id": account_id,
        "purpose": purpose,
        "collaborator_id": collaborator_id,
        "decision": Decision(decision).value,
        "source": ConsentSource(source).value,
        "policy_version": policy_version,
        "effective_at": (effective_at or recorded_at).astimezone(UTC),
        "recorded_at": recorded_at.astimezone(UTC),
        "external_id": external_id,
    }


def append_consent_rows(
    session: Session,
    rows: Sequence[dict[str, Any]],
    *,
    ordinals: Mapping[str, int] | None = None,
) -> list[ConsentEvent]:
    """Append consent events (``consent_fields``) to the ledger in the order given, each with
    its account's ordinal (from ``ordinals`` when the caller has read them, else read here):
    the only write path there is but the bulk import's (``store.content.append_consent_events``)."""
    if ordinals is None:
        ordinals = account_ordinals(session, [r["account_id"] for r in rows])
    unhashed = [{"account_ordinal": ordinals[r["account_id"]]} for r in rows]
    return _extend(session, CONSENT_CHAIN, ConsentEvent, rows, unhashed)


_APPEND_CONSENTS = text(
    "SELECT event_id, event_prev_hash, event_hash, account_ordinal"
    " FROM consentry_append_consents(CAST(:events AS jsonb))"
)
_AUDIT_COLUMNS = ("at", "actor", "action", "object_type", "object_id")


def append_consents_at_once(
    conn: Connection, rows: Sequence[dict[str, Any]], audits: Sequence[dict[str, Any]]
) -> list[ConsentEvent] | None:
    """PostgreSQL: append consent events (``consent_fields``) in the order given, each followed
    by its audit record (``audit_fields`` whose details hold the event's id as ``EVENT_ID``),
    in one statement (migration 0010's function). It locks both heads, checks that the
    account, purpose and collaborator each event names exist and that its external id is not
    recorded, chains and inserts the rows, and moves the heads.

    On an autocommit connection that statement is its transaction, so the heads are held only
    while the database runs it and flushes its commit, with no round trip to this process in
    between: the locking way (``hold_heads``, then ``_extend``) holds them through six, each
    waiting for this process to be scheduled. The hashes are ``_extend``'s: the database joins
    ``canonical_pieces`` around the values only it knows under the lock.

    The events come back as transient objects. None, with nothing written: a check failed, or
    a chain has no head yet (the locking way answers each write, and creates the heads)."""
    payload = []
    for fields, audit in zip(rows, audits, strict=True):
        pieces, audit_pieces = canonical_pieces(fields), canonical_pieces(audit)
        if len(pieces) != 2 or len(audit_pieces) != 3:
            raise ValueError("an audit record's one hole is its details' event_id")
        details = {k: v for k, v in audit["details"].items() if v is not EVENT_ID}
        payload.append(
            {
                **fields,
                "pieces": pieces,
                **{column: audit[column] for column in _AUDIT_COLUMNS},
                "details": details,
                "audit_pieces": audit_pieces,
            }
        )
    events = json.dumps(payload, separators=(",", ":"), default=_json_default)
    answered = conn.execute(_APPEND_CONSENTS, {"events": events}).all()
    if not answered:
        return None
    return [
        ConsentEvent(id=event_id, **fields, account_ordinal=ordinal, prev_hash=prev, hash=digest)
        for (event_id, prev, digest, ordinal), fields in zip(answered, rows, strict=True)
    ]


def account_ordinals(session: Session, account_ids: Sequence[str]) -> dict[str, int]:
    """The ``Account.ordinal`` of each of ``account_ids``, in one query; an unknown account
    is refused (``NotFound``), as the event's foreign key would refuse it."""
    wanted = set(account_ids)
    conn = session.connection()
    within, params = id_list_in(conn, sorted(wanted))
    rows = conn.execute(text(f"SELECT id, ordinal FROM accounts WHERE id {within}"), params)
    found: dict[str, int] = dict(rows.all())
    missing = wanted - found.keys()
    if missing:
        raise NotFound("account", min(missing))
    return found


def append_consent_event(
    session: Session,
    *,
    account_id: str,
    purpose: str,
    decision: Decision,
    source: ConsentSource,
    effective_at: datetime | None = None,
    collaborator_id: str | None = None,
    policy_version: str | None = None,
    external_id: str | None = None,
    recorded_at: datetime | None = None,
) -> ConsentEvent:
    """Append one consent event."""
    fields = consent_fields(
        account_id=account_id,
        purpose=purpose,
        decision=decision,
        source=source,
        effective_at=effective_at,
        collaborator_id=collaborator_id,
        policy_version=policy_version,
        external_id=external_id,
        recorded_at=recorded_at,
    )
    return append_consent_rows(session, [fields])[0]


def audit_fields(
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An audit event's chained fields (``AUDIT_FIELDS``); ``at`` defaults to now."""
    return {
        "at": (at or datetime.now(UTC)).astimezone(UTC),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "details": details or {},
    }


def append_audit_rows(session: Session, rows: Sequence[dict[str, Any]]) -> list[AuditEvent]:
    """Append audit events (``audit_fields``) in the order given."""
    return _extend(session, AUDIT_CHAIN, AuditEvent, rows)


def append_audit_event(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Record who did what to which object; every change of consent or delivery comes here."""
    fields = audit_fields(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
        at=at,
    )
    return append_audit_rows(session, [fields])[0]


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    event_id: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    chain: str
    checked: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def _verify(
    session: Session,
    chain: str,
    model: type[ConsentEvent] | type[AuditEvent],
    fields: tuple[str, ...],
    up_to: int | None = None,
) -> ChainReport:
    prev = GENESIS
    checked = 0
    query = select(model).order_by(model.id)
    if up_to is not None:
        query = query.where(model.id <= up_to)
    rows: Iterator = session.execute(query.execution_options(yield_per=10_000)).scalars()
    last_id: int | None = None
    for row in rows:
        checked += 1
        last_id = row.id
        if row.prev_hash != prev:
            return ChainReport(
                chain, checked, ChainBreak(chain, row.id, "previous hash does not match")
            )
        expected = canonical_hash({f: getattr(row, f) for f in fields}, prev)
        if row.hash != expected:
            return ChainReport(
                chain, checked, ChainBreak(chain, row.id, "content does not match its hash")
            )
        prev = row.hash
    if up_to is not None:
        if last_id != up_to:
            return ChainReport(
                chain, checked, ChainBreak(chain, up_to, "event missing from the ledger")
            )
        return ChainReport(chain, checked, None)
    head = session.get(LedgerHead, chain)
    if head is not None and head.last_hash != prev:
        return ChainReport(
            chain, checked, ChainBreak(chain, head.last_id, "events missing at the end")
        )
    return ChainReport(chain, checked, None)


def verify_consent_chain(session: Session) -> ChainReport:
    return _verify(session, CONSENT_CHAIN, ConsentEvent, CONSENT_FIELDS)


def verify_consent_chain_to(session: Session, *, event_id: int) -> ChainReport:
    """The consent chain recomputed from genesis through ``event_id``: what a receipt for that
    event rests on. Later events do not matter to it; an earlier one edited, removed or
    reordered, or the event itself missing, is named as the first break."""
    return _verify(session, CONSENT_CHAIN, ConsentEvent, CONSENT_FIELDS, up_to=event_id)


def verify_audit_chain(session: Session) -> ChainReport:
    return _verify(session, AUDIT_CHAIN, AuditEvent, AUDIT_FIELDS)


def audit_events(
    session: Session,
    *,
    action: str | None = None,
    object_id: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """A page of the audit log, newest first; ``before`` (an event id) pages back in time."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(session.scalars(query))
