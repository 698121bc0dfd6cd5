"""One error type per kind of failure, each with its message in one place."""

from __future__ import annotations

import os


class ConsentryError(Exception):
    """Base class: the message says what is wrong and how to fix it."""


class NotFound(ConsentryError):
    def __init__(self, kind: str, key: object, *, listing: str | None = None) -> None:
        listing = listing or f"consentry {kind} list"
        super().__init__(f"no {kind} {key!r}; see `{listing}`")
        self.kind, self.key = kind, key


class Placed(ConsentryError):
    """An error with its place, when known: file and line, field, or request."""

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None):
        place = ", ".join(p for p in (where, f"field {field!r}" if field else None) if p)
        super().__init__(f"{place}: {message}" if place else message)
        self.where, self.field, self.detail = where, field, message


class InvalidInput(Placed):
    """Bad input."""


class Conflict(Placed):
    """The request contradicts what is already recorded (a consent event sent again under its
    external id with other content)."""


class IntegrityFailure(ConsentryError):
    """A hash chain, signature or checksum does not match."""


class MissingDependency(ConsentryError):
    """An optional dependency is not installed; the message gives the install command."""

    def __init__(self, module: str, extra: str, needed_for: str) -> None:
        super().__init__(
            f"{needed_for} needs the Python package {module!r}, which is not installed; "
            f"install it with: pip install 'consentry[{extra}]'"
        )


class NotAllowed(ConsentryError):
    """The caller is known, but what it asks is not allowed in its present state."""


class CollaboratorNotActive(NotAllowed):
    """A suspended or terminated collaborator keeps no access to data (DESIGN: after delivery)."""

    def __init__(self, collaborator_id: str, status: str) -> None:
        super().__init__(
            f"collaborator {collaborator_id!r} is {status}: while it is not active it can "
            "download no deliveries, manifests or shards; only deletion notices can still be "
            "read and acknowledged. The platform's licensing staff can reactivate it "
            f"(`consentry collaborator status {collaborator_id} active`)."
        )
        self.collaborator_id, self.status = collaborator_id, status


class OutputFailed(ConsentryError):
    """The filesystem refused a delivery's files (full, read-only, over quota)."""

    def __init__(self, directory: object, exc: OSError) -> None:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        super().__init__(
            f"writing the delivery in {directory} failed: {reason}. Shards already finished "
            "are kept and nothing half-written is left; make room (or fix the directory), then "
            "run the same command with --resume"
        )
        self.directory, self.errno = directory, exc.errno
