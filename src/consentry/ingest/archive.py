"""Account exports as people download them from a platform: a directory, or a .zip of one.

Each platform module (``x_archive``, ``mastodon``) turns its export into canonical accounts and
posts tables, imported like any file in one transaction: an error anywhere in the export imports
nothing. The platform's own ids are kept, so importing the same export again changes nothing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from consentry.errors import InvalidInput
from consentry.store.content import valid_jurisdiction


class Archive:
    """Read members of an export, whether unpacked or zipped (with or without a top folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            self._names = sorted(
                str(p.relative_to(path)).replace("\\", "/") for p in path.rglob("*") if p.is_file()
            )
        elif path.is_file() and zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            self._names = sorted(n for n in self._zip.namelist() if not n.endswith("/"))
        else:
            raise InvalidInput("not an export directory or .zip file", where=str(path))

    def members(self) -> list[str]:
        return list(self._names)

    def find(self, name: str) -> str:
        """The member called ``name`` at the root or under one top folder; an error if none."""
        for member in self._names:
            if member == name or (
                member.endswith("/" + name) and member.count("/") == name.count("/") + 1
            ):
                return member
        raise InvalidInput(f"the export has no {name}", where=str(self.path))

    def read(self, member: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(member)
        return (self.path / member).read_bytes()

    def label(self, member: str) -> str:
        """How errors name a member: ``export.zip:data/tweets.js``, ``export/data/tweets.js``."""
        return f"{self.path}:{member}" if self._zip is not None else str(self.path / member)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._zip is not None:
            self._zip.close()


def checked_jurisdiction(code: str) -> str:
    code = code.strip().upper()
    if not valid_jurisdiction(code):
        raise InvalidInput(
            f"{code!r} is not an ISO 3166 country or subdivision code (e.g. 'DE', 'US-CA')",
            field="jurisdiction",
        )
    return code
