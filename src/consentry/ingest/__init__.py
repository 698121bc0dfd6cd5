"""Getting platform data in: bulk files (JSONL, CSV, Parquet) and real account exports."""

from __future__ import annotations

from consentry.ingest.importer import ArchiveReport, ImportReport, import_file, import_table
from consentry.ingest.mastodon import import_mastodon
from consentry.ingest.x_archive import import_x_archive

__all__ = [
    "ArchiveReport",
    "ImportReport",
    "import_file",
    "import_mastodon",
    "import_table",
    "import_x_archive",
]
