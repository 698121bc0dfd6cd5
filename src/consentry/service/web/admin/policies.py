"""Policy versions: list, draft (prefilled from the latest; purposes as checkboxes, defaults as
rows of selects), diff to the previous, preview of the impact, and publish once confirmed."""

from __future__ import annotations

from functools import cache
from typing import Annotated

import pycountry
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from consentry.domain.jurisdiction import GROUPS, WILDCARD, validate_key
from consentry.domain.types import DefaultRule
from consentry.errors import Conflict, InvalidInput
from consentry.reports.render import chart_svgs
from consentry.reports.whatif import DraftPolicy, simulate
from consentry.service.deps import AdminDep, EngineDep, StaffDep
from consentry.service.policy_diff import diff_defaults
from consentry.service.web.admin.common import back_to, day_start, may_write, parse_int, render
from consentry.store.db import session_scope
from consentry.store.policies import (
    NOTICE_DAYS,
    defaults_of,
    draft_policy,
    get_policy,
    list_policies,
    publish_policy,
    purpose_keys,
)

router = APIRouter(prefix="/policies")

RULE_WORDS = {
    DefaultRule.OPT_IN.value: "Opt-in: nothing shared without a yes",
    DefaultRule.OPT_OUT.value: "Opt-out: shared unless the user says no",
    DefaultRule.NEVER.value: "Never shared",
}
BLANK_ROWS = 3


@cache
def jurisdiction_choices() -> tuple[tuple[str, str], ...]:
    """Every key a default may have, in words: everywhere, groups, countries, US states."""
    choices = [(WILDCARD, "Everywhere not named otherwise (*)")]
    choices += [(g, f"{g} (all its member countries)") for g in sorted(GROUPS)]
    choices += sorted(
        ((c.alpha_2, f"{c.name} ({c.alpha_2})") for c in pycountry.countries), key=lambda c: c[1]
    )
    choices += sorted(
        (
            (s.code, f"{s.name}, United States ({s.code})")
            for s in pycountry.subdivisions.get(country_code="US") or []
        ),
        key=lambda c: c[1],
    )
    return tuple(choices)


class PolicyForm(BaseModel):
    version: str = ""
    summary: str = ""
    full_text: str = ""
    """The policy as users read it in full (Markdown)."""
    purposes: list[str] = Field(default_factory=list)
    d_purpose: list[str] = Field(default_factory=list)
    d_jurisdiction: list[str] = Field(default_factory=list)
    d_rule: list[str] = Field(default_factory=list)
    notice_days: str = str(NOTICE_DAYS)
    csrf_token: str | None = None

    def rows(self) -> list[tuple[str, str, str]]:
        return list(zip(self.d_purpose, self.d_jurisdiction, self.d_rule, strict=False))


def _form_page(
    request: Request,
    engine: EngineDep,
    staff: StaffDep,
    form: PolicyForm,
    errors: dict[str, str] | None = None,
    status: int = 422,
) -> Response:
    with session_scope(engine) as session:
        purposes = purpose_keys(session)
    rows = form.rows() + [("", "", "")] * BLANK_ROWS
    return render(
        request,
        "policy_new.html",
        staff,
        status if errors else 200,
        form=form,
        rows=rows,
        purposes=purposes,
        jurisdictions=jurisdiction_choices(),
        rules=RULE_WORDS,
        errors=errors or {},
        error="Please correct the fields marked below." if errors else None,
    )


@router.get("", response_class=HTMLResponse)
def policies(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        rows = list(reversed(list_policies(session)))
    return render(request, "policies.html", staff, policies=rows)


@router.get("/new", response_class=HTMLResponse)
def new_policy(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    with session_scope(engine) as session:
        latest = list_policies(session)[-1:]
        defaults = defaults_of(session, latest[0]) if latest else {}
    form = PolicyForm(purposes=list(latest[0].purposes) if latest else [])
    for purpose, by_jurisdiction in sorted(defaults.items()):
        for jurisdiction, rule in sorted(by_jurisdiction.items()):
            form.d_purpose.append(purpose)
            form.d_jurisdiction.append(jurisdiction)
            form.d_rule.append(rule)
    return _form_page(request, engine, staff, form)


def _defaults(form: PolicyForm, errors: dict[str, str]) -> dict[str, dict[str, str]]:
    """The rows that were filled in; a half-filled or repeated row is refused beside it."""
    out: dict[str, dict[str, str]] = {}
    for i, (purpose, jurisdiction, rule) in enumerate(form.rows()):
        filled = [bool(purpose), bool(jurisdiction), bool(rule)]
        if not any(filled):
            continue
        if not all(filled):
            errors[f"default-{i}"] = "Choose a purpose, a jurisdiction and a default, or none."
            continue
        try:
            key = validate_key(jurisdiction)
        except ValueError as exc:
            errors[f"default-{i}"] = str(exc)
            continue
        if rule not in RULE_WORDS:
            errors[f"default-{i}"] = f"Choose one of: {', '.join(RULE_WORDS.values())}."
        elif key in out.get(purpose, {}):
            errors[f"default-{i}"] = f"{purpose} in {key} is already set in another row."
        else:
            out.setdefault(purpose, {})[key] = rule
    return out


@router.post("", response_class=HTMLResponse)
def create_policy(
    request: Request, engine: EngineDep, staff: AdminDep, form: Annotated[PolicyForm, Form()]
) -> Response:
    may_write(staff, form.csrf_token)
    errors: dict[str, str] = {}
    if not form.version.strip():
        errors["version"] = "Give the version a name, e.g. v3."
    if not form.summary.strip():
        errors["summary"] = "Say in plain words what changes for users."
    defaults = _defaults(form, errors)
    notice_days = 0
    try:
        notice_days = parse_int(form.notice_days, "notice_days")
        if notice_days < 0:
            errors["notice_days"] = "The notice period cannot be negative."
    except InvalidInput as exc:
        errors["notice_days"] = exc.detail
    if not form.purposes and not defaults:
        errors["purposes"] = "Tick at least one purpose the version covers."
    if errors:
        return _form_page(request, engine, staff, form, errors)
    try:
        with session_scope(engine) as session:
            draft_policy(
                session,
                version=form.version.strip(),
                summary=form.summary.strip(),
                purposes=form.purposes,
                defaults=defaults,
                notice_days=notice_days,
                full_text=form.full_text.strip(),
                actor=staff.actor,
            )
    except Conflict as exc:
        return _form_page(request, engine, staff, form, {"version": exc.detail}, status=409)
    except InvalidInput as exc:
        return _form_page(request, engine, staff, form, {exc.field or "version": exc.detail})
    return back_to(f"/admin/policies/{form.version.strip()}")


def _policy_page(
    request: Request,
    engine: EngineDep,
    staff: StaffDep,
    version: str,
    errors: dict[str, str] | None = None,
) -> Response:
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
        422 if errors else 200,
        policy=current,
        previous=previous,
        changes=changes,
        errors=errors or {},
        effective=request.query_params.get("effective", ""),
    )


@router.get("/{version}", response_class=HTMLResponse)
def policy(request: Request, version: str, engine: EngineDep, staff: StaffDep) -> Response:
    return _policy_page(request, engine, staff, version)


def _stored_draft(engine: EngineDep, version: str, effective: str) -> DraftPolicy:
    with session_scope(engine) as session:
        row = get_policy(session, version)
        if row.status == "published":
            raise Conflict(f"policy version {version!r} is already published")
        defaults = defaults_of(session, row)
        return DraftPolicy(
            version=row.version,
            purposes=frozenset(row.purposes),
            defaults={p: {k: DefaultRule(v) for k, v in by.items()} for p, by in defaults.items()},
            notice_days=row.notice_days,
            effective_at=day_start(effective, "effective"),
        )


def _preview_page(
    request: Request,
    engine: EngineDep,
    staff: StaffDep,
    version: str,
    effective: str,
    errors: dict[str, str] | None = None,
) -> Response:
    try:
        draft = _stored_draft(engine, version, effective)
    except InvalidInput as exc:
        return _policy_page(request, engine, staff, version, {"effective": exc.detail})
    report = simulate(engine, draft)
    return render(
        request,
        "policy_preview.html",
        staff,
        422 if errors else 200,
        version=version,
        effective=effective,
        report=report,
        charts=chart_svgs(report),
        errors=errors or {},
    )


@router.get("/{version}/preview", response_class=HTMLResponse)
def preview(
    request: Request, version: str, engine: EngineDep, staff: StaffDep, effective: str = ""
) -> Response:
    """What publishing would change, computed as the export would, with the publish button."""
    return _preview_page(request, engine, staff, version, effective)


@router.post("/{version}/publish", response_class=HTMLResponse)
def publish(
    request: Request,
    version: str,
    engine: EngineDep,
    staff: AdminDep,
    effective: Annotated[str, Form()],
    confirm: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    may_write(staff, csrf_token)
    if confirm != "yes":
        return _preview_page(
            request,
            engine,
            staff,
            version,
            effective,
            {"confirm": "Tick the box to confirm you have read the impact summary."},
        )
    try:
        with session_scope(engine) as session:
            publish_policy(
                session,
                version=version,
                effective_at=day_start(effective, "effective"),
                actor=staff.actor,
            )
    except InvalidInput as exc:
        return _policy_page(request, engine, staff, version, {"effective": exc.detail})
    return back_to(f"/admin/policies/{version}")
