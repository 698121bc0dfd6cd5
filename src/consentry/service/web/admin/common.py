"""What every admin page shares: rendering with the signed-in staff member, and form checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from consentry.errors import InvalidInput
from consentry.service.deps import StaffSession, require_csrf


def render(
    request: Request, template: str, staff: StaffSession, status_code: int = 200, **context: Any
) -> Response:
    return request.app.state.templates.TemplateResponse(
        request,
        f"admin/{template}",
        {"staff": staff, "csrf": staff.csrf, **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def may_write(staff: StaffSession, csrf_token: str | None) -> None:
    """A change needs the session's CSRF token (and the admin role, which ``AdminDep`` checks
    before the form is read)."""
    require_csrf(staff, csrf_token)


def back_to(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def day_start(value: str, field: str) -> datetime:
    """A form's ``YYYY-MM-DD`` as the start of that day in UTC (the forms say UTC)."""
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError as exc:
        raise InvalidInput(f"expected a date like 2025-03-01, got {value!r}", field=field) from exc


def optional_day(value: str | None, field: str) -> datetime | None:
    return day_start(value, field) if value else None


def moment(value: str, field: str) -> datetime:
    """A form's date and time (``datetime-local``: no zone, read as UTC, as the forms say), or
    an ISO 8601 time with its own zone."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"expected a date and time like 2025-03-01T09:00 (UTC), got {value!r}", field=field
        ) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def optional_moment(value: str | None, field: str) -> datetime | None:
    return moment(value, field) if value and value.strip() else None


def parse_int(value: str, field: str) -> int:
    try:
        return int(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"expected a whole number, got {value!r}", field=field) from exc
