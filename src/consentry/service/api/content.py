"""The platform API for content (service token): accounts and posts, created, updated, deleted.

Single items; bulk files go through ``consentry import``. As there, a field left out or null keeps
its value, and a deletion takes effect at the earliest time sent.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from consentry.service.api.schemas import (
    AccountIn,
    AccountOut,
    DeletionIn,
    PathId,
    PostIn,
    PostOut,
)
from consentry.service.deps import EngineDep, PlatformDep, PropagatorDep
from consentry.service.errors import ERROR_RESPONSES
from consentry.store import content
from consentry.store.db import session_scope
from consentry.store.models import Account, Post

router = APIRouter(prefix="/api/platform", tags=["platform"], responses=ERROR_RESPONSES)
CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "Created."}}


@router.put("/accounts/{account_id}", response_model=AccountOut, responses=CREATED)
def put_account(
    account_id: PathId,
    body: AccountIn,
    response: Response,
    engine: EngineDep,
    caller: PlatformDep,
    propagator: PropagatorDep,
) -> AccountOut:
    """Create the account (201) or update the fields sent (200)."""
    with session_scope(engine) as session:
        if session.get(Account, account_id) is None:
            response.status_code = status.HTTP_201_CREATED
        account = content.upsert_account(
            session, actor=caller.actor, id=account_id, **body.model_dump(exclude_unset=True)
        )
        out = AccountOut.model_validate(account, from_attributes=True)
    propagator.submit([account_id])  # turned protected, or a minor: take back what was shared
    return out


@router.put("/posts/{post_id}", response_model=PostOut, responses=CREATED)
def put_post(
    post_id: PathId,
    body: PostIn,
    response: Response,
    engine: EngineDep,
    caller: PlatformDep,
    propagator: PropagatorDep,
) -> PostOut:
    """Create the post (201) or update the fields sent (200); its account must exist."""
    with session_scope(engine) as session:
        if session.get(Post, post_id) is None:
            response.status_code = status.HTTP_201_CREATED
        post = content.upsert_post(
            session, actor=caller.actor, id=post_id, **body.model_dump(exclude_unset=True)
        )
        out = PostOut.model_validate(post, from_attributes=True)
    propagator.submit([out.account_id])
    return out


@router.post("/accounts/{account_id}/deletion", response_model=AccountOut)
def delete_account(
    account_id: PathId,
    body: DeletionIn,
    engine: EngineDep,
    caller: PlatformDep,
    propagator: PropagatorDep,
) -> AccountOut:
    """Record that the account was deleted: none of its posts is shared from then on, and
    collaborators that received some are told to delete them."""
    with session_scope(engine) as session:
        account = content.mark_account_deleted(
            session, account_id, body.deleted_at, actor=caller.actor
        )
        out = AccountOut.model_validate(account, from_attributes=True)
    propagator.submit([account_id])
    return out


@router.post("/posts/{post_id}/deletion", response_model=PostOut)
def delete_post(
    post_id: PathId,
    body: DeletionIn,
    engine: EngineDep,
    caller: PlatformDep,
    propagator: PropagatorDep,
) -> PostOut:
    """Record that the post was deleted: it is not shared from then on, and collaborators that
    received it are told to delete it."""
    with session_scope(engine) as session:
        post = content.mark_post_deleted(session, post_id, body.deleted_at, actor=caller.actor)
        out = PostOut.model_validate(post, from_attributes=True)
    propagator.submit([out.account_id])
    return out
