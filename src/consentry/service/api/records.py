"""The user's own record of sharing, for the platform's data-access requests (service token).

The same data function and the same JSON or CSV as the user's own download
(``GET /api/me/shared-records``): what a user asks the platform for is what they can see.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from consentry.errors import NotFound
from consentry.service.api.schemas import PathId
from consentry.service.deps import EngineDep, PlatformDep, SettingsDep
from consentry.service.errors import ERROR_RESPONSES
from consentry.service.received import SharedRecords, shared_records, shared_records_csv
from consentry.service.web.times import UTC_VIEWER
from consentry.store.consent import now
from consentry.store.db import session_scope
from consentry.store.ledger import append_audit_event
from consentry.store.models import Account

router = APIRouter(prefix="/api/platform", tags=["platform"], responses=ERROR_RESPONSES)
Format = Literal["json", "csv"]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv."}
}


def records_response(records: SharedRecords, fmt: Format, *, filename: str) -> Response:
    """The download in the asked format: one row per delivered post in CSV, nested in JSON."""
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}.{fmt}"',
        "Cache-Control": "no-store",
    }
    if fmt == "csv":
        return Response(
            shared_records_csv(records), media_type="text/csv; charset=utf-8", headers=headers
        )
    return JSONResponse(records.model_dump(mode="json"), headers=headers)


@router.get(
    "/accounts/{account_id}/shared-records", response_model=SharedRecords, responses=CSV_RESPONSE
)
def account_shared_records(
    account_id: PathId,
    engine: EngineDep,
    settings: SettingsDep,
    caller: PlatformDep,
    format: Format = "json",
) -> Response:
    """Everything of the account's that was delivered, how it was changed and what happened
    after: the user's own download, for a data-access request made to the platform (audited)."""
    with session_scope(engine) as session:
        if session.get(Account, account_id) is None:
            raise NotFound("account", account_id)
        records = shared_records(
            session,
            account_id=account_id,
            home=settings.home,
            now=now(),
            post_url=settings.post_url,
            viewer=UTC_VIEWER,
        )
        append_audit_event(
            session,
            actor=caller.actor,
            action="account.shared_records",
            object_type="account",
            object_id=account_id,
            details={"deliveries": len(records.deliveries), "format": format},
        )
    return records_response(records, format, filename=f"shared-posts-{account_id}")
