"""The export plan: everything decided before a single post is read, as plain data.

An engine executes a plan over Arrow record batches; the driver (``export.py``) writes the shards
and finalizes the delivery from what the engine yields. Nothing here reads the database or the
clock: ``export.plan_export`` builds a plan from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from consentry.domain.types import LicenseFacts
from consentry.pipeline.context import ExportContext
from consentry.pipeline.manifest import CollaboratorInfo, LicenseInfo
from consentry.pipeline.shards import ROW_GROUP_ROWS
from consentry.pipeline.sources import Source


@dataclass(frozen=True)
class ShardLayout:
    """Fixed shard and row-group sizes, so the same records always give the same files."""

    shard_rows: int = 524_288

    def __post_init__(self) -> None:
        if self.shard_rows % ROW_GROUP_ROWS and self.shard_rows > ROW_GROUP_ROWS:
            raise ValueError(f"shard_rows must be a multiple of {ROW_GROUP_ROWS}")

    @property
    def row_group_rows(self) -> int:
        return min(ROW_GROUP_ROWS, self.shard_rows)


@dataclass(frozen=True)
class Target:
    """The delivery being written: its row, its directory, and what a resumed run finds."""

    delivery_id: str
    kind: str
    """full or delta."""
    previous_delivery_id: str | None
    out_dir: Path
    license: LicenseInfo
    collaborator: CollaboratorInfo
    resumed: bool = False
    done_shards: dict[str, str] = field(default_factory=dict)
    """Shards finished by an interrupted run: name -> SHA-256 (the resume marker)."""
    recorded_members: tuple[str, ...] = ()
    """Post ids of those shards' members, sorted (a resumed run must skip exactly these)."""


@dataclass(frozen=True)
class ExportPlan:
    target: Target
    context: ExportContext
    """License facts, cut-off, as-of, the consent snapshot and every transform's inputs."""
    source: Source
    layout: ShardLayout

    @property
    def license(self) -> LicenseFacts:
        return self.context.license

    @property
    def cutoff(self) -> datetime:
        return self.context.cutoff

    @property
    def as_of(self) -> datetime:
        return self.context.as_of
