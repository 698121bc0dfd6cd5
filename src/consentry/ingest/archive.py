"""Account exports as people download them from a platform: a directory, or a .zip of one.

Each platform module (``x_archive``, ``mastodon``) turns its export into canonical accounts and
posts tables, imported like any file in one transaction: an error anywhere in the export imports
nothing. The platform's own ids are kept, so importing the same export again changes nothing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from consentry.errors import InvalidInput
from consentry.ingest.readers import not_utf8
from consentry.store.content import valid_jurisdiction

MAX_MEMBER_BYTES = 256 << 20
"""The largest member read, decompressed: a few hundred thousand posts. A member is parsed whole,
so a highly compressed one (a zip bomb) must be refused before it is inflated."""


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

    def text(self, member: str) -> str:
        """The member as UTF-8 text (exports are JSON or JavaScript); an error naming the member
        and line when it is not UTF-8."""
        data = self.read(member)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"not UTF-8 text ({not_utf8(data)})", where=self.label(member)
            ) from None

    def read(self, member: str) -> bytes:
        """The member's bytes; an error naming it when it is larger than ``MAX_MEMBER_BYTES``
        (the zip's stated size is checked first, then no more than that is inflated)."""
        if self._zip is None:
            path = self.path / member
            if path.stat().st_size > MAX_MEMBER_BYTES:
                raise self._too_large(member)
            return path.read_bytes()
        if self._zip.getinfo(member).file_size > MAX_MEMBER_BYTES:
            raise self._too_large(member)
        with self._zip.open(member) as stream:
            data = stream.read(MAX_MEMBER_BYTES + 1)
        if len(data) > MAX_MEMBER_BYTES:
            raise self._too_large(member)
        return data

    def _too_large(self, member: str) -> InvalidInput:
        return InvalidInput(
            f"larger than {MAX_MEMBER_BYTES >> 20} MiB once decompressed; split the export or "
            "import its posts as a JSONL or Parquet file",
            where=self.label(member),
        )

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
