"""Limits: bad credentials per kind, per presented key and per address; request body size.

The body limit holds for chunked bodies too (Content-Length may be absent).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_message(max_bytes: int) -> str:
    return f"request body is larger than {max_bytes} bytes; split it into several requests"


class BodyTooLarge(HTTPException):
    """Raised while the body is read, so the app's error handlers answer 413 in their format."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_message(max_bytes))


class BodyLimit:
    """Answer 413 with a JSON error once a request body passes ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps(
            {
                "detail": too_large_message(self.max_bytes),
                "field": None,
                "where": f"{scope['method']} {scope['path']}",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class CredentialKind(StrEnum):
    PLATFORM_TOKEN = "platform token"
    COLLABORATOR_KEY = "collaborator API key"
    STAFF_PASSWORD = "staff password"
    SIGNIN_LINK = "sign-in link"


@dataclass(frozen=True)
class Place:
    """Where failures are counted: ``address``, ``key prefix`` or ``username``, and its value."""

    what: str
    value: str

    def __str__(self) -> str:
        return f"{self.what} {self.value}"


@dataclass(frozen=True)
class Limited:
    """A kind of credential limited at a place, for ``retry_after`` more seconds."""

    kind: CredentialKind
    place: Place
    retry_after: int

    @property
    def message(self) -> str:
        return (
            f"too many invalid {self.kind}s for {self.place}; try again in {self.retry_after} s "
            f"(valid {self.kind}s are not affected)"
        )


class FailureLimiter:
    """Counts invalid credentials in a fixed window, per kind of credential and per place (the
    client's address, the presented key's prefix, the username). Past ``limit`` in a window,
    further invalid ones of that kind at that place are answered 429; valid credentials are
    checked first and always admitted, so one misconfigured client cannot lock others out.

    Kept in memory per server process: a flood costs no database writes, and with N workers an
    attacker gets at most N times the limit per window.
    """

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.limit, self.window = limit, window_seconds
        self._failures: dict[tuple[CredentialKind, Place], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def limited(self, kind: CredentialKind, place: Place) -> Limited | None:
        """Whether ``kind`` is limited at ``place`` now (nothing is counted)."""
        with self._lock:
            return self._over(kind, place, time.monotonic())

    def failed(self, kind: CredentialKind, *places: Place) -> Limited | None:
        """Count one invalid credential at each place; the first place now over the limit."""
        now = time.monotonic()
        with self._lock:
            for place in places:
                started, count = self._failures.get((kind, place), (now, 0))
                if now - started >= self.window:
                    started, count = now, 0
                self._failures[(kind, place)] = (started, count + 1)
            if len(self._failures) > 100_000:  # bound memory under a spray of addresses
                self._failures = {
                    k: v for k, v in self._failures.items() if now - v[0] < self.window
                }
            return next(
                (hit for place in places if (hit := self._over(kind, place, now)) is not None),
                None,
            )

    def _over(self, kind: CredentialKind, place: Place, now: float) -> Limited | None:
        started, count = self._failures.get((kind, place), (0.0, 0))
        left = started + self.window - now
        if count > self.limit and left > 0:
            return Limited(kind, place, max(1, int(left + 0.999)))
        return None
