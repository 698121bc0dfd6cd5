"""The HTTP side of sync: the collaborator API under one scoped key (httpx, streaming)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx

from consentry.errors import ConsentryError, IntegrityFailure, InvalidInput, NotAllowed

NOTICE_PAGE = 100


class ApiError(ConsentryError):
    """The collaborator API answered with an error; the message says what to do about it."""

    def __init__(self, response: httpx.Response, hint: str) -> None:
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = response.text[:200]
        super().__init__(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} ({detail}); {hint}"
        )
        self.status_code = response.status_code


_HINTS = {
    401: "the key was refused: check the key file holds a current cst_... key, or ask the "
    "platform for a new one",
    403: "the key lacks a scope or the collaborator is not active; ask the platform for a key "
    "with the scopes deliveries:read, notices:read and notices:ack",
    404: "it does not exist or is not yours; check the --api URL",
    429: "too many failed attempts from this address; wait a minute and run again",
}


def read_key(path: Path) -> str:
    """The API key in ``path`` (first line); a clear error when it is not a ``cst_`` key."""
    try:
        key = path.read_text().strip().splitlines()[0].strip() if path.stat().st_size else ""
    except OSError as exc:
        raise InvalidInput(f"cannot read the key file ({exc.strerror})", where=str(path)) from exc
    if not key.startswith("cst_"):
        raise InvalidInput(
            "expected a collaborator API key starting with 'cst_' on the first line",
            where=str(path),
        )
    return key


class CollaboratorApi:
    """Your deliveries and notices, under one key. Use as a context manager."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 60.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
        )

    def __enter__(self) -> CollaboratorApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConsentryError(
                f"cannot reach the collaborator API at {self.http.base_url} ({exc}); "
                "check --api and your network"
            ) from exc
        if response.status_code >= 400:
            raise ApiError(response, _HINTS.get(response.status_code, "try again later"))
        return response.json()

    def deliveries(self) -> list[dict[str, Any]]:
        """Your complete deliveries, newest first; NotAllowed when you may not download."""
        try:
            return list(self._json("GET", "/api/collaborator/deliveries"))
        except ApiError as exc:
            if exc.status_code == 403:
                raise NotAllowed(str(exc)) from exc
            raise

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/collaborator/deliveries/{delivery_id}"))

    def notices_after(self, cursor: int) -> tuple[list[dict[str, Any]], int]:
        """One page of your notices with an id above ``cursor``, oldest first; the next cursor."""
        body = self._json(
            "GET", "/api/collaborator/notices", params={"after": cursor, "limit": NOTICE_PAGE}
        )
        return list(body["notices"]), int(body["next_cursor"])

    def acknowledge(self, notice_id: int, shards: list[dict[str, str]]) -> bool:
        """Acknowledge a notice with the hashes of the rewritten shards; False when it was
        acknowledged already (409), which a retry after a crash expects."""
        try:
            self._json(
                "POST",
                f"/api/collaborator/notices/{notice_id}/ack",
                json={"shards": shards, "note": None},
            )
        except ApiError as exc:
            if exc.status_code == 409:
                return False
            raise
        return True

    def download(self, url: str, dest: Path, *, sha256: str | None) -> str:
        """Stream ``url`` into ``dest`` (fsynced) and return its SHA-256; IntegrityFailure when
        it differs from ``sha256`` or from the server's ``X-Checksum-SHA256``."""
        digest = hashlib.sha256()
        try:
            with self.http.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(response, _HINTS.get(response.status_code, "try again later"))
                announced = response.headers.get("x-checksum-sha256")
                with open(dest, "wb") as out:
                    for block in response.iter_bytes(1 << 20):
                        digest.update(block)
                        out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
        except httpx.HTTPError as exc:
            raise ConsentryError(f"the download of {url} broke off ({exc}); run again") from exc
        got = digest.hexdigest()
        for source, expected in (("the delivery's listing", sha256), ("the server", announced)):
            if expected is not None and expected != got:
                raise IntegrityFailure(
                    f"{url} arrived with SHA-256 {got} but {source} says {expected}: the file "
                    "was damaged or changed on the way; nothing of this delivery was kept, run "
                    "again and tell the platform if it persists"
                )
        return got
