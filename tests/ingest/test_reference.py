"""The import formats are documented from the validator's own columns, and the docs are current."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentry.cli import app
from consentry.ingest.fields import KINDS
from consentry.ingest.reference import markdown

DOCS = Path(__file__).parents[2] / "docs" / "IMPORT.md"


def test_docs_import_md_is_the_generated_reference() -> None:
    assert DOCS.read_text() == markdown(), (
        "docs/IMPORT.md is stale: run python -m consentry.ingest.reference > docs/IMPORT.md"
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_column_the_store_takes_is_documented(kind: str) -> None:
    spec = KINDS[kind]
    assert [f.name for f in spec.fields] == spec.schema.names
    undocumented = [f.name for f in spec.fields if len(f.doc.strip()) < 10]
    assert not undocumented, f"say what these {kind} columns mean in ingest/fields.py"
    section = markdown().split(f"## {kind}\n", 1)[1].split("\n## ", 1)[0]
    for f in spec.fields:
        assert f"| `{f.name}` |" in section


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_import_kind_help_lists_every_column(kind: str) -> None:
    result = CliRunner().invoke(app, ["import", kind, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for f in KINDS[kind].fields:
        assert f"{f.name} (" in result.output
