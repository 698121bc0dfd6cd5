"""Collaborators (with their API keys) and licenses."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from consentry.errors import Conflict, InvalidInput
from consentry.pipeline.keys import webhook_cipher
from consentry.service.deps import AdminDep, EngineDep, SettingsDep, StaffDep
from consentry.service.web.admin.common import (
    back_to,
    may_write,
    optional_moment,
    render,
)
from consentry.store.credentials import SCOPES, api_keys_of, create_api_key, revoke_api_key
from consentry.store.db import session_scope
from consentry.store.parties import (
    COLLABORATOR_STATUSES,
    add_collaborator,
    get_collaborator,
    list_collaborators,
    list_licenses,
    set_collaborator_status,
)
from consentry.store.webhooks import add_endpoint, disable_endpoint, endpoints_of

router = APIRouter()


def _collaborators_page(
    request: Request, engine: EngineDep, staff: StaffDep, error: str | None = None, **form: str
) -> Response:
    with session_scope(engine) as session:
        rows = list_collaborators(session)
    return render(
        request,
        "collaborators.html",
        staff,
        422 if error else 200,
        collaborators=rows,
        statuses=COLLABORATOR_STATUSES,
        error=error,
        form=form,
    )


@router.get("/collaborators", response_class=HTMLResponse)
def collaborators(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    return _collaborators_page(request, engine, staff)


@router.post("/collaborators", response_class=HTMLResponse)
def create_collaborator(
    request: Request,
    engine: EngineDep,
    staff: AdminDep,
    id: Annotated[str, Form()],
    name: Annotated[str, Form()],
    country: Annotated[str, Form()],
    contact: Annotated[str, Form()] = "",
    dpa_date: Annotated[str, Form()] = "",
    listed_at: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    try:
        listed = optional_moment(listed_at, "listed_at")
        with session_scope(engine) as session:
            add_collaborator(
                session,
                id=id.strip(),
                name=name.strip(),
                country=country.strip(),
                contact=contact.strip(),
                dpa_date=date.fromisoformat(dpa_date) if dpa_date else None,
                listed_at=listed,
                actor=staff.actor,
            )
    except (InvalidInput, Conflict, ValueError) as exc:
        return _collaborators_page(
            request,
            engine,
            staff,
            str(exc),
            id=id,
            name=name,
            country=country,
            contact=contact,
            dpa_date=dpa_date,
            listed_at=listed_at,
        )
    return back_to(f"/admin/collaborators/{id.strip()}")


@router.get("/collaborators/{collaborator_id}", response_class=HTMLResponse)
def collaborator(
    request: Request, collaborator_id: str, engine: EngineDep, staff: StaffDep
) -> Response:
    return _collaborator_page(request, engine, staff, collaborator_id)


def _collaborator_page(
    request: Request,
    engine: EngineDep,
    staff: StaffDep,
    collaborator_id: str,
    new_key: str | None = None,
    new_webhook: tuple[str, str] | None = None,
    error: str | None = None,
) -> Response:
    with session_scope(engine) as session:
        row = get_collaborator(session, collaborator_id)
        keys = api_keys_of(session, collaborator_id=collaborator_id)
        licenses = list_licenses(session, collaborator_id=collaborator_id)
        endpoints = endpoints_of(session, collaborator_id=collaborator_id)
    return render(
        request,
        "collaborator.html",
        staff,
        422 if error else 200,
        collaborator=row,
        keys=keys,
        licenses=licenses,
        scopes=SCOPES,
        statuses=COLLABORATOR_STATUSES,
        new_key=new_key,
        endpoints=endpoints,
        new_webhook=new_webhook,
        error=error,
    )


@router.post("/collaborators/{collaborator_id}/status", response_class=HTMLResponse)
def change_status(
    collaborator_id: str,
    engine: EngineDep,
    staff: AdminDep,
    status: Annotated[str, Form()],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    with session_scope(engine) as session:
        set_collaborator_status(session, id=collaborator_id, status=status, actor=staff.actor)
    return back_to(f"/admin/collaborators/{collaborator_id}")


@router.post("/collaborators/{collaborator_id}/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    collaborator_id: str,
    engine: EngineDep,
    staff: AdminDep,
    scopes: Annotated[list[str] | None, Form()] = None,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Create a key and show it on this one answer only (it is never stored or shown again)."""
    may_write(staff, csrf_token)
    with session_scope(engine) as session:
        _, credential = create_api_key(
            session, collaborator_id=collaborator_id, scopes=scopes, actor=staff.actor
        )
    return _collaborator_page(request, engine, staff, collaborator_id, new_key=credential)


@router.post("/collaborators/{collaborator_id}/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(
    collaborator_id: str,
    key_id: str,
    engine: EngineDep,
    staff: AdminDep,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    with session_scope(engine) as session:
        revoke_api_key(session, key_id=key_id, collaborator_id=collaborator_id, actor=staff.actor)
    return back_to(f"/admin/collaborators/{collaborator_id}")


@router.post("/collaborators/{collaborator_id}/webhooks", response_class=HTMLResponse)
def add_webhook(
    request: Request,
    collaborator_id: str,
    engine: EngineDep,
    settings: SettingsDep,
    staff: AdminDep,
    url: Annotated[str, Form()],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Register an endpoint and show its signing secret on this one answer only."""
    may_write(staff, csrf_token)
    try:
        with session_scope(engine) as session:
            endpoint, secret = add_endpoint(
                session,
                collaborator_id=collaborator_id,
                url=url,
                cipher=webhook_cipher(settings.home),
                actor=staff.actor,
                require_https=settings.environment == "production",
            )
            shown = (endpoint.id, secret)
    except InvalidInput as exc:
        return _collaborator_page(request, engine, staff, collaborator_id, error=str(exc))
    return _collaborator_page(request, engine, staff, collaborator_id, new_webhook=shown)


@router.post(
    "/collaborators/{collaborator_id}/webhooks/{endpoint_id}/disable",
    response_class=HTMLResponse,
)
def disable_webhook(
    collaborator_id: str,
    endpoint_id: str,
    engine: EngineDep,
    staff: AdminDep,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    with session_scope(engine) as session:
        disable_endpoint(
            session, endpoint_id=endpoint_id, collaborator_id=collaborator_id, actor=staff.actor
        )
    return back_to(f"/admin/collaborators/{collaborator_id}")
