"""The signed-in user's consent receipts: each of their consent decisions as a signed
ISO/IEC TS 27560 consent record in DPV terms, and the JSON-LD context those records use.

Only the user's own events are served; another account's event id answers 404 like a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from consentry.pipeline.keys import signing_key
from consentry.pipeline.manifest import canonical_json
from consentry.receipts import records
from consentry.service.api.schemas import RowNumber
from consentry.service.deps import EngineDep, SettingsDep, UserDep
from consentry.service.errors import ERROR_RESPONSES
from consentry.store.db import session_scope

router = APIRouter()
JSONLD = "application/ld+json"
NO_STORE = {"Cache-Control": "no-store"}


class ReceiptItem(BaseModel):
    event_id: int
    purpose: str
    collaborator_id: str | None
    """None: the choice is for all collaborators."""
    decision: str
    consent_status: str
    """dpv:ConsentGiven, dpv:ConsentWithdrawn (a deny after an allow) or dpv:ConsentRefused."""
    effective_at: datetime
    recorded_at: datetime
    url: str
    """The signed record (JSON); add ``.jsonld`` for the record alone, ``.sig`` for its
    detached signature."""


class ReceiptList(BaseModel):
    account_id: str
    context_url: str
    receipts: list[ReceiptItem]


class ReceiptSignature(BaseModel):
    algorithm: str
    key_id: str
    public_key_pem: str
    value: str
    """Base64 Ed25519 signature of the record's canonical JSON (sorted keys, compact, UTF-8)."""


class SignedReceipt(BaseModel):
    record: dict[str, Any]
    signature: ReceiptSignature
    context_url: str


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _record(
    request: Request, engine: EngineDep, settings: SettingsDep, user: UserDep, event_id: RowNumber
) -> dict[str, Any]:
    with session_scope(engine) as session:
        return records.consent_record(
            session,
            account_id=user.account_id,
            event_id=event_id,
            base_url=_base(request),
            controller_name=settings.platform_name,
        )


@router.get(records.CONTEXT_PATH, tags=["user"], response_class=JSONResponse)
def context() -> Response:
    """The JSON-LD context of Consentry's consent records (also inline in each record)."""
    return JSONResponse(
        records.context_document(),
        media_type=JSONLD,
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get(
    records.RECEIPTS_PATH, response_model=ReceiptList, tags=["user"], responses=ERROR_RESPONSES
)
def list_receipts(request: Request, engine: EngineDep, user: UserDep) -> ReceiptList:
    """A receipt for each of your consent decisions, oldest first."""
    with session_scope(engine) as session:
        found = records.list_receipts(session, account_id=user.account_id, base_url=_base(request))
    return ReceiptList(
        account_id=user.account_id,
        context_url=_base(request) + records.CONTEXT_PATH,
        receipts=[ReceiptItem(**vars(r)) for r in found],
    )


# The suffixed routes come first: "/7.jsonld" must not reach "/{event_id}" as an id.
@router.get(
    records.RECEIPTS_PATH + "/{event_id}.jsonld",
    tags=["user"],
    responses={
        **ERROR_RESPONSES,
        200: {"content": {JSONLD: {}}, "description": "The signed JSON-LD record's bytes."},
    },
    response_class=Response,
)
def receipt_jsonld(
    request: Request, event_id: RowNumber, engine: EngineDep, settings: SettingsDep, user: UserDep
) -> Response:
    """The consent record alone (JSON-LD, context inline), exactly the signed bytes."""
    record = _record(request, engine, settings, user, event_id)
    return Response(
        canonical_json(record),
        media_type=JSONLD,
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="consent-receipt-{event_id}.jsonld"',
        },
    )


@router.get(
    records.RECEIPTS_PATH + "/{event_id}.sig",
    tags=["user"],
    responses=ERROR_RESPONSES,
    response_class=PlainTextResponse,
)
def receipt_signature(
    request: Request, event_id: RowNumber, engine: EngineDep, settings: SettingsDep, user: UserDep
) -> Response:
    """The detached Ed25519 signature of the ``.jsonld`` record, base64."""
    record = _record(request, engine, settings, user, event_id)
    signature = records.sign_record(record, signing_key(settings.home))
    return PlainTextResponse(
        signature.value + "\n",
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="consent-receipt-{event_id}.sig"',
        },
    )


@router.get(
    records.RECEIPTS_PATH + "/{event_id}",
    response_model=SignedReceipt,
    tags=["user"],
    responses=ERROR_RESPONSES,
)
def receipt(
    request: Request, event_id: RowNumber, engine: EngineDep, settings: SettingsDep, user: UserDep
) -> JSONResponse:
    """One of your consent decisions as a signed ISO/IEC TS 27560 record (DPV JSON-LD)."""
    record = _record(request, engine, settings, user, event_id)
    signature = records.sign_record(record, signing_key(settings.home))
    body = SignedReceipt(
        record=record,
        signature=ReceiptSignature(**vars(signature)),
        context_url=_base(request) + records.CONTEXT_PATH,
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)
