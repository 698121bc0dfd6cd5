"""Account look-up (``/admin/accounts``): what of one account was shared, with whom, and under
which consent; the same record the user sees (``service.received``), plus each record's basis."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consentry.errors import NotFound
from consentry.revenue.money import money
from consentry.service.deps import EngineDep, SettingsDep, StaffDep
from consentry.service.received import received
from consentry.service.web.admin.common import back_to, render
from consentry.service.web.times import viewer_of
from consentry.store.db import session_scope
from consentry.store.deliveries import members_of_account
from consentry.store.invoices import earnings_of
from consentry.store.receipts import events_of_account, get_account

router = APIRouter(prefix="/accounts")

SOURCE_WORDS = {
    "settings": "the user, on the settings page",
    "api": "the user, in the platform's app",
    "gpc": "the user's browser (Global Privacy Control)",
    "import": "the platform's records (imported)",
    "admin": "staff",
    "default": "a policy default",
}


@router.get("", response_class=HTMLResponse)
def look_up(request: Request, staff: StaffDep, account: str = "") -> Response:
    if account.strip():
        return back_to(f"/admin/accounts/{quote(account.strip(), safe='')}")
    return render(request, "accounts.html", staff, account=None)


@router.get("/{account_id}", response_class=HTMLResponse)
def account_page(
    request: Request, account_id: str, engine: EngineDep, settings: SettingsDep, staff: StaffDep
) -> Response:
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        try:
            account = get_account(session, account_id=account_id)
        except NotFound:
            return render(
                request,
                "accounts.html",
                staff,
                404,
                account=None,
                error=f"No account {account_id!r}. Check the id the platform uses for it.",
            )
        events = events_of_account(session, account_id=account_id)
        deliveries = received(
            session,
            account_id=account_id,
            home=settings.home,
            now=now,
            post_url=settings.post_url,
            viewer=viewer_of(request),
        )
        basis = {
            (m.delivery_id, m.post_id): m
            for m in members_of_account(session, account_id=account_id)
        }
        earned = [
            money(amount, currency)
            for currency, amount in earnings_of(
                session, account_id=account_id, year=now.year
            ).items()
        ]
    return render(
        request,
        "accounts.html",
        staff,
        account=account,
        events=list(reversed(events)),
        deliveries=deliveries,
        basis=basis,
        sources=SOURCE_WORDS,
        earned=earned,
        year=now.year,
    )
