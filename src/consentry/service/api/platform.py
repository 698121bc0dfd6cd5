"""The platform API (service token): consent events and "may I share this?" checks.

The platform's backend calls it; the answers are the consent rule's, with reason and basis.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import Engine

from consentry.service.api.schemas import (
    BulkAnswers,
    BulkQuestions,
    ConsentEventIn,
    ConsentEventOut,
    MayShareAnswer,
    MayShareQuestion,
)
from consentry.service.decisions import Answer, may_share, may_share_bulk
from consentry.service.deps import PlatformDep, PropagatorDep
from consentry.service.errors import ERROR_RESPONSES
from consentry.store.consent import ConsentWrite, Recorded, now
from consentry.store.group_commit import GroupCommit

router = APIRouter(prefix="/api/platform", tags=["platform"], responses=ERROR_RESPONSES)


@router.post("/may-share", response_model=MayShareAnswer)
async def check_one(question: MayShareQuestion, request: Request, _caller: PlatformDep) -> Response:
    """May this post be shared with this collaborator for this purpose now?"""
    reader: Engine = request.app.state.reader
    moment = now()

    def ask() -> Answer:
        with reader.connect() as conn:
            return may_share(
                conn,
                request.app.state.reference,
                post_id=question.post_id,
                collaborator_id=question.collaborator_id,
                purpose=question.purpose,
                now=moment,
            )

    # SQLite reads are work in this process that never waits for a lock (WAL): the hop to a
    # thread cost about a fifth of the request's CPU. PostgreSQL's reads wait on a socket, in
    # the event loop's own executor: anyio's threadpool (capacity limiter, cancel scopes)
    # cost more CPU than the check itself.
    if reader.dialect.name == "sqlite":
        answer = ask()
    else:
        answer = await asyncio.get_running_loop().run_in_executor(None, ask)
    # The answer serialised by hand, in ``MayShareAnswer``'s shape (a test holds the two equal):
    # validating a model and then the response model again cost more than the rule.
    body = {
        "post_id": answer.post_id,
        "collaborator_id": answer.collaborator_id,
        "purpose": answer.purpose,
        "allowed": answer.allowed,
        "reason": answer.reason,
        "license_id": answer.license_id,
        "basis": {
            "event_id": answer.basis.event_id,
            "policy_version": answer.basis.policy_version,
            "default": answer.basis.default.value if answer.basis.default else None,
        },
    }
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.post("/may-share/bulk", response_model=BulkAnswers)
def check_many(questions: BulkQuestions, request: Request, _caller: PlatformDep) -> Response:
    """Up to 50,000 posts for one collaborator and purpose, answered in bulk, as columns.

    Entry *i* of each column answers ``post_ids[i]``. An unknown post is answered
    ``allowed: false, reason: unknown_post`` rather than failing the whole request.
    """
    with request.app.state.reader.connect() as conn:
        reference = request.app.state.reference.get(conn)
        table = may_share_bulk(
            conn,
            reference,
            post_ids=questions.post_ids,
            collaborator_id=questions.collaborator_id,
            purpose=questions.purpose,
            now=now(),
        )
    columns = table.to_pydict()
    # Serialised straight from the Arrow columns: building a model per answer would dominate.
    body = {
        "collaborator_id": questions.collaborator_id,
        "purpose": questions.purpose,
        "count": table.num_rows,
        "allowed_count": sum(columns["allowed"]),
        "decisions": columns,
    }
    return Response(json.dumps(body), media_type="application/json")


@router.post(
    "/consent-events",
    response_model=ConsentEventOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ConsentEventOut, "description": "Sent before: the recorded event."}},
)
async def record_event(
    event: ConsentEventIn, request: Request, caller: PlatformDep, propagator: PropagatorDep
) -> Response:
    """Append a user's choice made in the platform's app (or a GPC signal it received).

    Idempotent on ``external_id``: the same event sent again answers 200 with the recorded
    one; other content under a used ``external_id`` answers 409 naming the first field that
    differs (the bulk import's check: ``store.content.resent_events``). An ``effective_at``
    left out is not compared. The answer comes once the event is committed (concurrent writes
    share a commit: ``store.group_commit``).
    """
    writes: GroupCommit[ConsentWrite, Recorded] = request.app.state.writes
    # Awaited on the event loop: the write waits for its batch's commit without a thread.
    recorded = await writes.write(ConsentWrite(**event.model_dump(), actor=caller.actor))
    if recorded.created:
        propagator.submit([event.account_id])
    # Dumped by the model itself: FastAPI would validate the model it is given once more.
    answer = ConsentEventOut.model_validate(recorded.event, from_attributes=True)
    return Response(
        answer.model_dump_json(),
        status_code=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        media_type="application/json",
    )
