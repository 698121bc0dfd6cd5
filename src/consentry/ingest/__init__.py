"""Getting platform data in: bulk files (JSONL, CSV, Parquet) and real account exports."""

from __future__ import annotations

from consentry.ingest.importer import ImportReport, import_file, import_table

__all__ = ["ImportReport", "import_file", "import_table"]
