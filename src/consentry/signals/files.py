"""The site-wide signal files, as ``consentry serve`` answers them and ``consentry signals write``
writes them for the platform's own web servers (each file under a temporary name, then renamed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from consentry.pipeline.manifest import write_atomic
from consentry.settings import Settings
from consentry.signals import documents
from consentry.signals.documents import Terms
from consentry.signals.judge import reserved_posts

ROBOTS = "robots.txt"
LICENSE = documents.LICENSE_PATH.lstrip("/")
TDMREP = documents.TDMREP_PATH.lstrip("/")
TDM_POLICY = documents.TDM_POLICY_PATH.lstrip("/")
MEDIA_TYPES = {
    ROBOTS: "text/plain; charset=utf-8",
    LICENSE: documents.RSL_TYPE,
    TDMREP: "application/json",
    TDM_POLICY: "application/ld+json",
}
"""Each file's path under the site's root, and the media type it is served as."""


@dataclass(frozen=True)
class SiteSignals:
    terms: Terms
    reserved: list[str]
    generated_at: datetime

    @classmethod
    def now(cls, engine: Engine, settings: Settings, *, now: datetime) -> SiteSignals:
        """The signals following the consent rule at ``now`` (one read of the public posts and
        of the consent inputs for all of them)."""
        return cls(Terms.of(settings), reserved_posts(engine, now=now), now)

    def file(self, name: str) -> bytes:
        if name == ROBOTS:
            text = documents.robots_txt(self.terms, self.reserved, generated_at=self.generated_at)
            return text.encode("utf-8")
        if name == LICENSE:
            return documents.rsl_document(self.terms, self.reserved)
        if name == TDMREP:
            return _json(documents.tdmrep(self.terms, self.reserved))
        if name == TDM_POLICY:
            return _json(documents.tdm_policy(self.terms))
        raise KeyError(name)

    def write(self, directory: Path) -> list[Path]:
        """Every file under ``directory``; a reader sees each old file or its new one whole."""
        written = []
        for name in MEDIA_TYPES:
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, self.file(name))
            written.append(path)
        return written


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode("utf-8")
