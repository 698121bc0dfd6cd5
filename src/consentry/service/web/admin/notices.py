"""Deletion notices for staff: issued, acknowledged and overdue ones, one notice's records,
acknowledgement and webhook attempts; admins may acknowledge on a collaborator's behalf."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from consentry.errors import Conflict, InvalidInput
from consentry.service.api.schemas import RowNumber
from consentry.service.deps import AdminDep, EngineDep, StaffDep
from consentry.service.notices import Acknowledgement, ShardHash, acknowledge
from consentry.service.web.admin.common import back_to, may_write, render
from consentry.store import notices, webhooks
from consentry.store.db import session_scope
from consentry.store.parties import list_collaborators

router = APIRouter()
STATUSES = ("issued", "acknowledged", "overdue")


@router.get("/notices", response_class=HTMLResponse)
def notice_list(
    request: Request, engine: EngineDep, staff: StaffDep, collaborator: str = "", status: str = ""
) -> Response:
    if status and status not in STATUSES:
        raise InvalidInput(f"expected one of {', '.join(STATUSES)}, got {status!r}", field="status")
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        if status == "overdue":
            rows = notices.overdue_notices(session, now=now)
            rows = [n for n in rows if not collaborator or n.collaborator_id == collaborator]
        else:
            rows = notices.list_notices(
                session, collaborator_id=collaborator or None, status=status or None
            )
        overdue = {n.id for n in notices.overdue_notices(session, now=now)}
        collaborators = list_collaborators(session)
    return render(
        request,
        "notices.html",
        staff,
        notices=rows,
        overdue=overdue,
        collaborators=collaborators,
        collaborator=collaborator,
        status=status,
        statuses=STATUSES,
    )


def _notice_page(
    request: Request,
    engine: EngineDep,
    staff: StaffDep,
    notice_id: int,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with session_scope(engine) as session:
        notice = notices.get_notice(session, notice_id)
        records = notices.records_of(session, notice_id)
        attempts = webhooks.attempts_of(session, notice_id=notice_id)
        overdue = notice.status == "issued" and notice.due_at < datetime.now(UTC)
    return render(
        request,
        "notice.html",
        staff,
        status_code,
        notice=notice,
        records=records,
        attempts=attempts,
        overdue=overdue,
        error=error,
        form=form or {},
    )


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def notice_detail(
    request: Request, notice_id: RowNumber, engine: EngineDep, staff: StaffDep
) -> Response:
    return _notice_page(request, engine, staff, notice_id)


def _shards(text: str) -> list[ShardHash]:
    """One shard a line: ``DELIVERY NAME SHA256`` (spaces or commas between)."""
    shards = []
    for n, line in enumerate((raw for raw in text.splitlines() if raw.strip()), start=1):
        parts = line.replace(",", " ").split()
        if len(parts) != 3:
            raise InvalidInput(
                f"line {n}: expected 'DELIVERY NAME SHA256', got {line.strip()!r}", field="shards"
            )
        try:
            shards.append(ShardHash(delivery_id=parts[0], name=parts[1], sha256=parts[2]))
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise InvalidInput(
                f"line {n}: {problem['loc'][0]}: {problem['msg']} (a SHA-256 is 64 hex digits)",
                field="shards",
            ) from exc
    return shards


@router.post("/notices/{notice_id}/ack", response_class=HTMLResponse)
def acknowledge_on_behalf(
    request: Request,
    notice_id: RowNumber,
    engine: EngineDep,
    staff: AdminDep,
    note: Annotated[str, Form()] = "",
    shards: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Record the collaborator's acknowledgement as told to staff (audited as the staff user)."""
    may_write(staff, csrf_token)
    try:
        body = Acknowledgement(shards=_shards(shards), note=note.strip() or None)
        with session_scope(engine) as session:
            acknowledge(
                session,
                notice_id=notice_id,
                collaborator_id=None,
                acknowledgement=body,
                actor=staff.actor,
            )
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        form = {"note": note, "shards": shards}
        return _notice_page(request, engine, staff, notice_id, str(exc), form, status)
    return back_to(f"/admin/notices/{notice_id}")
