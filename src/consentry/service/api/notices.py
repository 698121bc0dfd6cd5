"""Deletion notices for collaborators: a pull feed after a cursor, one notice, and the
acknowledgement with the SHA-256 of the shards as rewritten.

These routes admit a collaborator whatever its status: a suspended or terminated collaborator
still holds records it must delete, so it can still read and acknowledge its notices (and
nothing else). Another collaborator's notice answers 404, like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from consentry.service.api.schemas import MAX_ROW_NUMBER, RowNumber
from consentry.service.deps import CollaboratorCaller, EngineDep, collaborator_with
from consentry.service.errors import ERROR_RESPONSES
from consentry.service.notices import Acknowledgement, Notice, NoticeFeed, acknowledge, notice_view
from consentry.store import notices
from consentry.store.db import session_scope

router = APIRouter(prefix="/api/collaborator", tags=["collaborator"], responses=ERROR_RESPONSES)
Reader = Annotated[CollaboratorCaller, Depends(collaborator_with("notices:read"))]
Acknowledger = Annotated[CollaboratorCaller, Depends(collaborator_with("notices:ack"))]


@router.get("/notices", response_model=NoticeFeed)
def notice_feed(
    engine: EngineDep,
    caller: Reader,
    after: Annotated[
        int, Query(ge=0, le=MAX_ROW_NUMBER, description="Return notices with an id above this.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> NoticeFeed:
    """Your deletion notices after the cursor ``after``, oldest first: a compliance event
    stream. Keep ``next_cursor`` and send it as ``after`` next time."""
    with session_scope(engine) as session:
        rows = notices.notices_after(
            session, collaborator_id=caller.collaborator_id, cursor=after, limit=limit
        )
        return NoticeFeed(
            notices=[notice_view(session, n) for n in rows],
            next_cursor=rows[-1].id if rows else after,
        )


@router.get("/notices/{notice_id}", response_model=Notice)
def get_notice(notice_id: RowNumber, engine: EngineDep, caller: Reader) -> Notice:
    """One of your notices, with the records (delivery, ``record_id``) to delete."""
    with session_scope(engine) as session:
        notice = notices.get_notice(session, notice_id, collaborator_id=caller.collaborator_id)
        return notice_view(session, notice)


@router.post("/notices/{notice_id}/ack", response_model=Notice)
def acknowledge_notice(
    notice_id: RowNumber, body: Acknowledgement, engine: EngineDep, caller: Acknowledger
) -> Notice:
    """Say you deleted the notice's records, with the SHA-256 of every shard you rewrote.
    Once only: a second acknowledgement is 409."""
    with session_scope(engine) as session:
        notice = acknowledge(
            session,
            notice_id=notice_id,
            collaborator_id=caller.collaborator_id,
            acknowledgement=body,
            actor=f"collaborator:{caller.collaborator_id}:key:{caller.key_id}",
        )
        return notice_view(session, notice)
