"""Policy versions: list, draft (prefilled from the latest), diff to the previous, publish."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from consentry.errors import Conflict, InvalidInput
from consentry.service.deps import EngineDep, StaffDep
from consentry.service.policy_diff import diff_defaults, format_defaults
from consentry.service.web.admin.common import (
    back_to,
    day_start,
    may_write,
    parse_int,
    render,
)
from consentry.store.db import session_scope
from consentry.store.policies import (
    NOTICE_DAYS,
    defaults_of,
    draft_policy,
    get_policy,
    list_policies,
    parse_defaults,
    publish_policy,
)

router = APIRouter(prefix="/policies")


@router.get("", response_class=HTMLResponse)
def policies(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        rows = list(reversed(list_policies(session)))
    return render(request, "policies.html", staff, policies=rows)


@router.get("/new", response_class=HTMLResponse)
def new_policy(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        latest = list_policies(session)[-1:]
        defaults = format_defaults(defaults_of(session, latest[0])) if latest else ""
        purposes = " ".join(latest[0].purposes) if latest else ""
    form = {
        "version": "",
        "summary": "",
        "purposes": purposes,
        "defaults": defaults,
        "notice_days": str(NOTICE_DAYS),
    }
    return render(request, "policy_new.html", staff, form=form, error=None)


@router.post("", response_class=HTMLResponse)
def create_policy(
    request: Request,
    engine: EngineDep,
    staff: StaffDep,
    version: Annotated[str, Form()],
    summary: Annotated[str, Form()],
    purposes: Annotated[str, Form()] = "",
    defaults: Annotated[str, Form()] = "",
    notice_days: Annotated[str, Form()] = str(NOTICE_DAYS),
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    try:
        with session_scope(engine) as session:
            draft_policy(
                session,
                version=version.strip(),
                summary=summary.strip(),
                purposes=purposes.replace(",", " ").split(),
                defaults=parse_defaults(defaults.splitlines(), field="defaults", numbered=True),
                notice_days=parse_int(notice_days, "notice_days"),
                actor=staff.actor,
            )
    except (InvalidInput, Conflict) as exc:
        form = {
            "version": version,
            "summary": summary,
            "purposes": purposes,
            "defaults": defaults,
            "notice_days": notice_days,
        }
        status = 409 if isinstance(exc, Conflict) else 422
        return render(request, "policy_new.html", staff, status, form=form, error=str(exc))
    return back_to(f"/admin/policies/{version.strip()}")


@router.get("/{version}", response_class=HTMLResponse)
def policy(request: Request, version: str, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        current = get_policy(session, version)
        ordered = list_policies(session)
        index = [p.id for p in ordered].index(current.id)
        previous = ordered[index - 1] if index > 0 else None
        changes = diff_defaults(
            defaults_of(session, previous) if previous else {}, defaults_of(session, current)
        )
    return render(
        request,
        "policy.html",
        staff,
        policy=current,
        previous=previous,
        changes=changes,
    )


@router.post("/{version}/publish", response_class=HTMLResponse)
def publish(
    version: str,
    engine: EngineDep,
    staff: StaffDep,
    effective: Annotated[str, Form()],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    with session_scope(engine) as session:
        publish_policy(
            session,
            version=version,
            effective_at=day_start(effective, "effective"),
            actor=staff.actor,
        )
    return back_to(f"/admin/policies/{version}")
