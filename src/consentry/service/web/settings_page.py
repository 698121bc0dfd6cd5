"""'Data sharing and personalization': the page, its JSON twin, the change form, the download.

The page and ``GET /api/me/data-sharing`` come from the one data function
``sharing.data_sharing``; the HTML never computes what the JSON does not say.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consentry.domain import consent
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.errors import NotFound
from consentry.service.api.records import CSV_RESPONSE, Format, records_response
from consentry.service.deps import EngineDep, SettingsDep, UserDep, UserSession, require_csrf
from consentry.service.errors import ERROR_RESPONSES
from consentry.service.gpc import apply_gpc
from consentry.service.policy_changes import PolicyView, policy_versions
from consentry.service.received import SharedRecords, shared_records
from consentry.service.sharing import DataSharingView, data_sharing, record_notices
from consentry.service.web.times import Viewer, viewer_of
from consentry.store.consent import now, record_consent
from consentry.store.db import session_scope
from consentry.store.models import Account

router = APIRouter()
PAGE = "/me/data-sharing"
POLICIES = "/me/policies"


def _viewer(request: Request, user: UserSession) -> Viewer:
    return viewer_of(request, session_zone=user.zone)


def _view(request: Request, engine: EngineDep, user: UserSession, surface: str) -> DataSharingView:
    """Apply a GPC signal if the request carries one, build the view, record what is shown."""
    with session_scope(engine) as session:
        account = session.get(Account, user.account_id)
        if account is None:
            raise NotFound("account", user.account_id)
        reference = request.app.state.reference.get(session.connection())
        gpc = apply_gpc(
            session,
            reference,
            account_id=account.id,
            jurisdiction=account.jurisdiction,
            signal=request.headers.get("sec-gpc", "").strip() == "1",
            actor=f"user:{account.id}",
        )
        # Read the clock after the GPC deny is recorded, so the view includes it.
        view = data_sharing(
            session,
            reference,
            account_id=account.id,
            now=now(),
            gpc=gpc,
            settings=request.app.state.settings,
            viewer=_viewer(request, user),
        )
        record_notices(session, view, surface=surface)
    if gpc.recorded_now:
        request.app.state.propagator.submit([account.id])
    return view


@router.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
def page(request: Request, engine: EngineDep, user: UserDep, saved: int | None = None) -> Response:
    view = _view(request, engine, user, "settings_page")
    saved_entry = next((h for h in view.history if h.event_id == saved), None)
    return request.app.state.templates.TemplateResponse(
        request,
        "data_sharing.html",
        {
            "view": view,
            "csrf": user.csrf,
            "saved": saved_entry,
            "viewer": _viewer(request, user),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/api/me/data-sharing",
    response_model=DataSharingView,
    tags=["user"],
    responses=ERROR_RESPONSES,
)
def page_as_json(request: Request, engine: EngineDep, user: UserDep) -> DataSharingView:
    """What the page shows, as JSON (for the platform's apps showing the same settings)."""
    return _view(request, engine, user, "settings_api")


@router.post(PAGE, include_in_schema=False)
def change(
    request: Request,
    engine: EngineDep,
    user: UserDep,
    decision: Annotated[Literal["allow", "deny"], Form()],
    purpose: Annotated[str, Form()] = TRAIN_AI_SYSTEM,
    collaborator_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Record the switch as a consent event at once, then show the page again (PRG)."""
    require_csrf(user, csrf_token)
    moment = now()
    with session_scope(engine) as session:
        reference = request.app.state.reference.get(session.connection())
        in_force = consent.policies_in_force(
            reference.policies, purpose=purpose, moment=moment, as_of=moment
        )
        event = record_consent(
            session,
            account_id=user.account_id,
            purpose=purpose,
            decision=decision,
            source="settings",
            actor=f"user:{user.account_id}",
            collaborator_id=collaborator_id or None,
            policy_version=in_force[-1].version if in_force else None,
        )
    request.app.state.propagator.submit([user.account_id])  # the click stays fast
    return RedirectResponse(f"{PAGE}?saved={event.id}#switches", status_code=303)


@router.get(
    "/api/me/shared-records",
    response_model=SharedRecords,
    tags=["user"],
    responses={**ERROR_RESPONSES, **CSV_RESPONSE},
)
def download(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: UserDep,
    format: Format = "json",
) -> Response:
    """Everything of yours that was delivered to collaborators, as they received it, how it was
    changed and what happened to it after (JSON, or CSV with ``format=csv``)."""
    with session_scope(engine) as session:
        records = shared_records(
            session,
            account_id=user.account_id,
            home=settings.home,
            now=now(),
            post_url=settings.post_url,
            viewer=_viewer(request, user),
        )
    return records_response(records, format, filename="my-shared-posts")


@router.get(
    "/api/me/shared-records.csv",
    tags=["user"],
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"text/csv": {}}, "description": "One row per delivered post."},
    },
    response_class=Response,
)
def download_csv(
    request: Request, engine: EngineDep, settings: SettingsDep, user: UserDep
) -> Response:
    """The same download as CSV, at an address that says so (one row per delivered post)."""
    return download(request, engine, settings, user, format="csv")


def _versions(request: Request, engine: EngineDep, user: UserSession) -> list[PolicyView]:
    with session_scope(engine) as session:
        account = session.get(Account, user.account_id)
        if account is None:
            raise NotFound("account", user.account_id)
        reference = request.app.state.reference.get(session.connection())
        return policy_versions(
            session, reference.policies, jurisdiction=account.jurisdiction, now=now()
        )


@router.get(POLICIES, response_class=HTMLResponse, include_in_schema=False)
def versions_page(request: Request, engine: EngineDep, user: UserDep) -> Response:
    """Every version of the policy ever published, newest first, each in full."""
    return request.app.state.templates.TemplateResponse(
        request,
        "policies.html",
        {
            "versions": _versions(request, engine, user),
            "viewer": _viewer(request, user),
            "now": now(),
            "csrf": user.csrf,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/api/me/policies",
    response_model=list[PolicyView],
    tags=["user"],
    responses=ERROR_RESPONSES,
)
def versions_as_json(request: Request, engine: EngineDep, user: UserDep) -> list[PolicyView]:
    """Every published version of the policy, newest first, with its full text (Markdown) and
    what it changed from the one before for the user's region."""
    return _versions(request, engine, user)
