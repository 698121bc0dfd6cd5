"""Errors as answers: JSON ``{"detail", "field", "where"}`` for the APIs, a plain page for people.

Each kind of failure has one status code here; routes raise the project's error types
(``consentry.errors``) or ``HTTPException`` and never build error responses themselves. Nothing
escapes without that shape: a value the database cannot store is a 422, and any other exception
a 500 in the same shape (with the security headers, which Starlette's outermost error
middleware would otherwise skip), its traceback in the server's log and never in the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from consentry.errors import (
    Conflict,
    ConsentryError,
    IntegrityFailure,
    InvalidInput,
    NotAllowed,
    NotFound,
    Placed,
)
from consentry.service.headers import SECURITY_HEADERS


class ErrorBody(BaseModel):
    detail: str
    """What is wrong and how to fix it."""
    field: str | None = None
    """The field at fault, as a path into the request (``items[3].post_id``)."""
    where: str | None = None
    """The request (method and path), or the place in an uploaded file."""


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "Malformed request (for example, JSON that does not parse).",
        401: "Missing or wrong credentials.",
        403: "Credentials lack the scope or role, the CSRF token is missing, or the collaborator "
        "is suspended or terminated.",
        404: "No such object, or not yours.",
        409: "Contradicts what is already recorded.",
        413: "Request body larger than the limit.",
        422: "A field is invalid; `field` names it.",
        429: "Too many bad credentials from this address; see Retry-After.",
    }.items()
}

STATUS = {NotFound: 404, InvalidInput: 422, Conflict: 409, NotAllowed: 403, IntegrityFailure: 500}


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.endswith(".json") or path == "/openapi.json")


def error_response(
    request: Request,
    status: int,
    detail: str,
    *,
    field: str | None = None,
    where: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    where = where or f"{request.method} {request.url.path}"
    if wants_html(request):
        templates = request.app.state.templates
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "detail": detail, "field": field},
            status_code=status,
            headers=headers,
        )
    body = ErrorBody(detail=detail, field=field, where=where).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str | None:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _validation(request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {"msg": "invalid request", "loc": ()}
    if first.get("type") == "json_invalid":
        position = first["loc"][-1] if first.get("loc") else "?"
        reason = (first.get("ctx") or {}).get("error", "not JSON")
        return error_response(
            request,
            400,
            f"malformed JSON at character {position}: {reason}; send a JSON object",
        )
    messages = [f"{_field_path(tuple(e['loc'])) or 'request'}: {e['msg']}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return error_response(
        request, 422, "; ".join(messages) + more, field=_field_path(tuple(first["loc"]))
    )


def _consentry(request: Request, exc: ConsentryError) -> Response:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    if isinstance(exc, Placed):
        return error_response(request, status, exc.detail, field=exc.field, where=exc.where)
    return error_response(request, status, str(exc))


def _http(request: Request, exc: HTTPException) -> Response:
    return error_response(request, exc.status_code, str(exc.detail), headers=exc.headers)


def _unstorable(request: Request, exc: DataError) -> Response:
    """The database refused a value (a NUL character, a number out of its column's range)."""
    reason = str(exc.orig).splitlines()[0] if exc.orig else "a value is out of range"
    return error_response(request, 422, f"a value in this request cannot be stored: {reason}")


def _unexpected(request: Request, exc: Exception) -> Response:
    return error_response(
        request,
        500,
        "the server failed to answer this request (an internal error, logged for the "
        "platform's operators); try again, and tell them if it persists",
        headers={name.decode(): value.decode() for name, value in SECURITY_HEADERS},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(ConsentryError, _consentry)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(DataError, _unstorable)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
