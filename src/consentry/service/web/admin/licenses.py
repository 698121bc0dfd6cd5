"""Licenses: the list, and a form a non-engineer can fill in (choices as selects and
checkboxes, amounts as people write them), refused field by field with the message beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pycountry
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from consentry.domain.revenue import PRICE_MODELS
from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.pipeline.context import RECORD_COLUMNS
from consentry.revenue.money import check_currency, percent_to_bp, to_minor
from consentry.service.deps import AdminDep, EngineDep, StaffDep
from consentry.service.web.admin.common import back_to, day_start, may_write, optional_day, render
from consentry.store.db import session_scope
from consentry.store.parties import (
    COARSENING,
    DEFAULT_FIELDS,
    add_license,
    list_collaborators,
    list_licenses,
)
from consentry.store.policies import purpose_keys
from consentry.store.reporting import post_languages

router = APIRouter(prefix="/licenses")

KINDS = {
    "post": "Posts",
    "reply": "Replies",
    "quote": "Quotes (with the quoted post if it may go too)",
}
COARSENING_WORDS = {
    "none": "Exact time",
    "hour": "To the hour",
    "day": "To the day",
    "month": "To the month",
}
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY", "SEK", "NOK", "DKK")
# A license's fields name the store's columns; RECORD_COLUMNS maps delivered name -> source.
FIELD_CHOICES = {source: description for _, (source, _, description) in RECORD_COLUMNS.items()}


class LicenseForm(BaseModel):
    """The license form's fields, as typed."""

    id: str = ""
    collaborator_id: str = ""
    purpose: str = "train_ai_system"
    kinds: list[str] = ["post", "reply", "quote"]
    languages: list[str] = []
    created_from: str = ""
    created_until: str = ""
    public_only: bool = False
    include_pre_policy_posts: bool = False
    fields: list[str] = list(DEFAULT_FIELDS)
    redact: bool = False
    pseudonymize: bool = False
    coarsen_timestamps: str = "day"
    term_start: str = ""
    term_end: str = ""
    price_model: str = "per_record"
    price: str = "0"
    currency: str = "USD"
    creator_share: str = "0"
    deletion_sla_days: str = "30"
    description: str = ""
    csrf_token: str | None = None


NEW_FORM = LicenseForm(public_only=True, redact=True, pseudonymize=True)
"""What a new license starts as: public posts only, redacted and pseudonymized."""

FIELD_OF = {
    "scope.kinds": "kinds",
    "scope.languages": "languages",
    "scope.created_from": "created_from",
    "scope.created_until": "created_until",
    "transforms.coarsen_timestamps": "coarsen_timestamps",
    "scope": "kinds",
}


def _page(
    request: Request,
    engine: EngineDep,
    staff: StaffDep,
    form: LicenseForm,
    errors: dict[str, str] | None = None,
) -> Response:
    with session_scope(engine) as session:
        rows = list_licenses(session)
        collaborators = list_collaborators(session)
        purposes = purpose_keys(session)
        languages = sorted(set(post_languages(session)) | set(form.languages))
    return render(
        request,
        "licenses.html",
        staff,
        422 if errors else 200,
        licenses=rows,
        collaborators=collaborators,
        purposes=purposes,
        languages=[(code, _language_name(code)) for code in languages],
        kinds=KINDS,
        field_choices=FIELD_CHOICES,
        coarsening={k: COARSENING_WORDS[k] for k in COARSENING},
        price_models=PRICE_MODELS,
        currencies=CURRENCIES,
        form=form,
        errors=errors or {},
        error="Please correct the fields marked below." if errors else None,
    )


def _language_name(code: str) -> str:
    found = pycountry.languages.get(alpha_2=code.split("-")[0].lower())
    return f"{found.name} ({code})" if found else code


@router.get("", response_class=HTMLResponse)
def licenses(request: Request, engine: EngineDep, staff: StaffDep) -> Response:
    return _page(request, engine, staff, NEW_FORM)


def _checked(errors: dict[str, str], field: str, parse: Callable[[], Any]) -> Any:
    """``parse()``, or None with its message recorded against ``field``."""
    try:
        return parse()
    except InvalidInput as exc:
        errors[FIELD_OF.get(exc.field or field, exc.field or field)] = exc.detail
        return None


@router.post("", response_class=HTMLResponse)
def create_license(
    request: Request, engine: EngineDep, staff: AdminDep, form: Annotated[LicenseForm, Form()]
) -> Response:
    may_write(staff, form.csrf_token)
    errors: dict[str, str] = {}
    if not form.id.strip():
        errors["id"] = "Give the license a short id, e.g. acme-2025."
    if not form.kinds:
        errors["kinds"] = "Choose at least one kind of post."
    if not form.fields or set(form.fields) - set(FIELD_CHOICES):
        errors["fields"] = "Choose the fields each record contains (from the list)."
    start = _checked(errors, "term_start", lambda: day_start(form.term_start, "term_start"))
    end = _checked(errors, "term_end", lambda: optional_day(form.term_end, "term_end"))
    created_from = _checked(
        errors, "created_from", lambda: optional_day(form.created_from, "created_from")
    )
    created_until = _checked(
        errors, "created_until", lambda: optional_day(form.created_until, "created_until")
    )
    if start and end and end <= start:
        errors["term_end"] = "The term must end after it starts."
    if created_from and created_until and created_until <= created_from:
        errors["created_until"] = "The window must end after it starts."
    currency = _checked(errors, "currency", lambda: check_currency(form.currency))
    price = _checked(errors, "price", lambda: to_minor(form.price, currency or "USD"))
    share = _checked(errors, "creator_share", lambda: percent_to_bp(form.creator_share))
    sla = _checked(errors, "deletion_sla_days", lambda: _days(form.deletion_sla_days))
    if errors:
        return _page(request, engine, staff, form, errors)
    scope: dict[str, Any] = {
        "kinds": sorted(form.kinds),
        "public_only": form.public_only,
        "include_pre_policy_posts": form.include_pre_policy_posts,
    }
    if form.languages:
        scope["languages"] = sorted(form.languages)
    if created_from:
        scope["created_from"] = created_from.isoformat()
    if created_until:
        scope["created_until"] = created_until.isoformat()
    try:
        with session_scope(engine) as session:
            add_license(
                session,
                id=form.id.strip(),
                collaborator_id=form.collaborator_id,
                purpose=form.purpose,
                scope=scope,
                fields=form.fields,
                transforms={
                    "redact": form.redact,
                    "pseudonymize": form.pseudonymize,
                    "coarsen_timestamps": form.coarsen_timestamps,
                },
                term_start=start,
                term_end=end,
                price_model=form.price_model,
                price_minor=price,
                currency=currency,
                creator_share_bp=share,
                deletion_sla_days=sla,
                description=form.description.strip(),
                actor=staff.actor,
            )
    except (InvalidInput, Conflict) as exc:
        field = FIELD_OF.get(exc.field or "id", exc.field or "id")
        return _page(request, engine, staff, form, {field: exc.detail})
    except NotFound as exc:
        return _page(request, engine, staff, form, {"collaborator_id": str(exc)})
    return back_to("/admin/licenses")


def _days(value: str) -> int:
    try:
        days = int(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"expected a whole number of days, got {value!r}", field="deletion_sla_days"
        ) from exc
    if days < 1:
        raise InvalidInput(
            "the deletion deadline is at least 1 day; a negative or zero deadline is refused",
            field="deletion_sla_days",
        )
    return days
