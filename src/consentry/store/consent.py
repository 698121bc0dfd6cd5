"""Recording consent (ledger + audit), and a post as the rule reads it.

Reading the rule's inputs is ``store.snapshot``'s job alone."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import pyarrow as pa
from sqlalchemy import Connection, Engine, Row, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consentry.domain.types import (
    ConsentSource,
    Decision,
    PostFacts,
    PostKind,
    Visibility,
)
from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.store.content import CONSENT_SCHEMA, resent_events
from consentry.store.db import id_list_in
from consentry.store.group_commit import GroupCommit
from consentry.store.ledger import (
    EVENT_ID,
    Hole,
    append_audit_rows,
    append_consent_rows,
    append_consents_at_once,
    audit_fields,
    consent_fields,
)
from consentry.store.models import ConsentEvent, Post


@dataclass(frozen=True)
class ConsentWrite:
    """One consent event as a caller asks to record it."""

    account_id: str
    purpose: str
    decision: Decision | str
    source: ConsentSource | str
    actor: str
    collaborator_id: str | None = None
    effective_at: datetime | None = None
    policy_version: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class Recorded:
    event: ConsentEvent
    created: bool
    """False: the external id was recorded before with the same content, and this is that
    event (``store.content.resent_events``)."""


def record_consent(
    session: Session,
    *,
    account_id: str,
    purpose: str,
    decision: Decision | str,
    source: ConsentSource | str,
    actor: str,
    collaborator_id: str | None = None,
    effective_at: datetime | None = None,
    policy_version: str | None = None,
    external_id: str | None = None,
) -> ConsentEvent:
    """Append a consent event and its audit record (one change, one audit event)."""
    write = ConsentWrite(
        account_id=account_id,
        purpose=purpose,
        decision=decision,
        source=source,
        actor=actor,
        collaborator_id=collaborator_id,
        effective_at=effective_at,
        policy_version=policy_version,
        external_id=external_id,
    )
    outcome = record_consents(session, [write])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome.event


def record_consents(session: Session, writes: Sequence[ConsentWrite]) -> list[Recorded | Exception]:
    """Record ``writes`` in the order given, each event with its audit record, in a few
    statements whatever their number (a group commit's batch: ``store.group_commit``).

    Entry *i* answers ``writes[i]``: its event, or the error that refused it (then nothing of it
    is recorded). An external id already recorded answers its event when the content is the
    same and ``Conflict`` naming the first field that differs when not; one sent twice in
    ``writes`` is recorded once and the second answered as sent again.
    """
    outcomes: list[Recorded | Exception | None] = [None] * len(writes)
    known = _known(session.connection(), writes)
    fresh = _answer_resent(session, writes, outcomes, known["external"])
    repeated = _repeated_external_ids(writes, fresh)
    later = set(repeated)
    valid = _checked(writes, [i for i in fresh if i not in later], known, outcomes)
    if valid:
        events = append_consent_rows(
            session,
            [fields for _, fields in valid],
            ordinals=cast(dict[str, int], known["account"]),
        )
        append_audit_rows(
            session,
            [
                _audit_of(writes[i].actor, fields, event.id)
                for (i, fields), event in zip(valid, events, strict=True)
            ],
        )
        for (i, _), event in zip(valid, events, strict=True):
            outcomes[i] = Recorded(event, created=True)
    if repeated:
        # Now that their first sending is recorded, they are answered as sent again.
        again = record_consents(session, [writes[i] for i in repeated])
        for i, outcome in zip(repeated, again, strict=True):
            outcomes[i] = outcome
    return cast(list[Recorded | Exception], outcomes)  # every entry is answered by now


def record_consents_at_once(
    conn: Connection, writes: Sequence[ConsentWrite]
) -> list[Recorded | Exception] | None:
    """PostgreSQL: ``record_consents`` in one round trip, on an autocommit connection: one
    statement checks the writes and appends every event and its audit record under the heads'
    locks, and commits (``store.ledger.append_consents_at_once``).

    None, with nothing recorded: the batch needs ``record_consents``, which answers each write.
    That is when a write names an account, purpose or collaborator that does not exist, or
    carries an external id sent before or twice in the batch, or an invalid decision or
    source; when the append broke a constraint (the database changed under it); and when a
    chain has no head yet."""
    externals = [w.external_id for w in writes if w.external_id is not None]
    if len(set(externals)) != len(externals):
        return None
    try:
        parsed = [(w, Decision(w.decision), ConsentSource(w.source)) for w in writes]
    except ValueError:
        return None
    rows = [_event_fields(*each) for each in parsed]
    audits = [_audit_of(w.actor, fields, EVENT_ID) for w, fields in zip(writes, rows, strict=True)]
    try:
        events = append_consents_at_once(conn, rows, audits)
    except IntegrityError:
        return None
    if events is None:
        return None
    return [Recorded(event, created=True) for event in events]


def consent_writes(engine: Engine) -> GroupCommit[ConsentWrite, Recorded]:
    """The group commit of a process's consent writes: on PostgreSQL each batch in one
    statement (``record_consents_at_once``), elsewhere and when that cannot, under the heads'
    locks (``record_consents``)."""
    if engine.dialect.name != "postgresql":
        return GroupCommit(engine, record_consents)
    return GroupCommit(
        engine, record_consents, record_consents_at_once, gather_seconds=GATHER_SECONDS
    )


GATHER_SECONDS = 0.002
"""PostgreSQL: how long a batch may wait for the writers of the one before to come back. The
heads stay locked through each commit's WAL flush (about 4 ms on the test machine), so the
ledger takes one commit at a time: the more writes each one carries, the more per second."""


def _checked(
    writes: Sequence[ConsentWrite],
    indexes: list[int],
    known: dict[str, dict[str, int | None]],
    outcomes: list[Recorded | Exception | None],
) -> list[tuple[int, dict[str, Any]]]:
    """The index and event fields of each of ``writes[indexes]`` that names an account, purpose
    and collaborator that exist (``known``) with a valid decision and source; the others are
    refused in ``outcomes``."""
    accounts, purposes, collaborators = known["account"], known["purpose"], known["collaborator"]
    valid = []
    for i in indexes:
        write = writes[i]
        try:
            if write.account_id not in accounts:
                raise NotFound("account", write.account_id)
            if write.purpose not in purposes:
                raise InvalidInput(f"unknown purpose {write.purpose!r}", field="purpose")
            if write.collaborator_id is not None and write.collaborator_id not in collaborators:
                raise NotFound("collaborator", write.collaborator_id)
            try:
                decision, source = Decision(write.decision), ConsentSource(write.source)
            except ValueError as exc:
                raise InvalidInput(str(exc), field="decision/source") from exc
        except (NotFound, InvalidInput) as exc:
            outcomes[i] = exc
            continue
        valid.append((i, _event_fields(write, decision, source)))
    return valid


def _event_fields(write: ConsentWrite, decision: Decision, source: ConsentSource) -> dict[str, Any]:
    """The consent event a write records (``consent_fields``), its decision and source parsed."""
    return consent_fields(
        account_id=write.account_id,
        purpose=write.purpose,
        decision=decision,
        source=source,
        collaborator_id=write.collaborator_id,
        effective_at=write.effective_at,
        policy_version=write.policy_version,
        external_id=write.external_id,
    )


def _audit_of(actor: str, fields: dict[str, Any], event_id: int | Hole) -> dict[str, Any]:
    """The audit record of a consent event (its ``consent_fields``): one change, one record."""
    return audit_fields(
        actor=actor,
        action="consent.record",
        object_type="account",
        object_id=fields["account_id"],
        details={
            "event_id": event_id,
            "purpose": fields["purpose"],
            "collaborator_id": fields["collaborator_id"],
            "decision": fields["decision"],
            "source": fields["source"],
        },
    )


def _answer_resent(
    session: Session,
    writes: Sequence[ConsentWrite],
    outcomes: list[Recorded | Exception | None],
    recorded_ids: Collection[str],
) -> list[int]:
    """Answer the writes whose external id is recorded (in ``outcomes``); the others' indexes.

    ``recorded_ids``: those of the writes' external ids already in the ledger (``_known``
    reads them with the accounts and purposes), so a batch of new events costs no query
    here."""
    with_ids = [i for i, w in enumerate(writes) if w.external_id in recorded_ids]
    if not with_ids:
        return list(range(len(writes)))
    sent = pa.Table.from_pylist(
        [
            {
                "external_id": w.external_id,
                "account_id": w.account_id,
                "purpose": w.purpose,
                "collaborator_id": w.collaborator_id,
                "decision": str(getattr(w.decision, "value", w.decision)),
                "source": str(getattr(w.source, "value", w.source)),
                "policy_version": w.policy_version,
                "effective_at": w.effective_at,
            }
            for w in (writes[i] for i in with_ids)
        ],
        CONSENT_SCHEMA,
    )
    known, resent = resent_events(session, sent)
    for r in resent:
        outcomes[with_ids[r.row]] = Conflict(r.message(), field=r.field)
    same = [
        writes[with_ids[row]].external_id
        for row, k in enumerate(known.to_pylist())
        if k and outcomes[with_ids[row]] is None
    ]
    if same:
        recorded = {
            e.external_id: e
            for e in session.scalars(select(ConsentEvent).where(ConsentEvent.external_id.in_(same)))
        }
        for row, k in enumerate(known.to_pylist()):
            i = with_ids[row]
            if k and outcomes[i] is None:
                outcomes[i] = Recorded(recorded[writes[i].external_id], created=False)
    return [i for i in range(len(writes)) if outcomes[i] is None]


def _repeated_external_ids(writes: Sequence[ConsentWrite], indexes: list[int]) -> list[int]:
    """Those of ``indexes`` whose external id an earlier one of them carries."""
    seen: set[str] = set()
    repeated = []
    for i in indexes:
        external_id = writes[i].external_id
        if external_id is None:
            continue
        if external_id in seen:
            repeated.append(i)
        seen.add(external_id)
    return repeated


_KNOWN = {
    "account": ("accounts", "id", "ordinal"),
    "purpose": ("purposes", "key", "NULL"),
    "collaborator": ("collaborators", "id", "NULL"),
    "external": ("consent_events", "external_id", "NULL"),
}
"""What a consent write names, and the table and column it must be found in (an external id
already recorded means the event was sent before), with what the write needs of it: the
account's ordinal, which its event carries."""


def _known(conn: Connection, writes: Sequence[ConsentWrite]) -> dict[str, dict[str, int | None]]:
    """Which of the ids the writes name exist, by kind (``_KNOWN``), each with its account's
    ordinal (None for the other kinds), in one statement."""
    asked: dict[str, list[str | None]] = {
        "account": [w.account_id for w in writes],
        "purpose": [w.purpose for w in writes],
        "collaborator": [w.collaborator_id for w in writes],
        "external": [w.external_id for w in writes],
    }
    parts, params = [], {}
    for kind, (table, column, carried) in _KNOWN.items():
        values = sorted({v for v in asked[kind] if v is not None})
        if values:
            within, given = id_list_in(conn, values, name=kind)
            parts.append(
                f"SELECT '{kind}', {column}, {carried} FROM {table} WHERE {column} {within}"
            )
            params.update(given)
    found: dict[str, dict[str, int | None]] = {kind: {} for kind in _KNOWN}
    if parts:
        for kind, value, ordinal in conn.execute(text(" UNION ALL ".join(parts)), params):
            found[kind][value] = ordinal
    return found


def post_facts(post: Post | Row[*tuple[Any, ...]]) -> PostFacts:
    """A post (a model, or a result row of its columns) as the rule reads it."""
    return PostFacts(
        id=post.id,
        account_id=post.account_id,
        created_at=post.created_at,
        visibility=Visibility(post.visibility),
        lang=post.lang,
        reply_to=post.reply_to,
        deleted_at=post.deleted_at,
        kind=PostKind(post.kind),
        original_id=post.original_id,
    )


def now() -> datetime:
    return datetime.now(UTC)
