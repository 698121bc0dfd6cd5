"""A delivery describes itself: Croissant JSON-LD that mlcroissant loads and reads the shards
through, and a datasheet a person can read, both saying how consent selected the posts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import mlcroissant as mlc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fake_delivery import EXCLUDED, base_manifest, build_delivery

from consentry.errors import InvalidInput
from consentry.pipeline.manifest import Manifest
from consentry.pipeline.metadata import (
    EXCLUSION_REASON_TEXT,
    croissant_data_type,
    write_croissant,
    write_datasheet,
)

DATASHEET_SECTIONS = [
    "## Motivation",
    "## Composition",
    "## Collection and consent process",
    "## Preprocessing",
    "## Uses",
    "## Distribution",
    "## Maintenance",
]


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("delivery")
    build_delivery(out, Ed25519PrivateKey.generate())
    return out


@pytest.fixture(scope="module")
def dataset(delivery: Path) -> mlc.Dataset:
    return mlc.Dataset(jsonld=delivery / "croissant.json")


def test_croissant_loads_in_mlcroissant_without_errors_or_warnings(dataset: mlc.Dataset) -> None:
    issues = dataset.metadata.ctx.issues
    assert not issues.errors and not issues.warnings, issues.report()
    assert dataset.metadata.name == "consentry-delivery-d-2024-12-15-nw-all"
    assert dataset.metadata.version == "2024.12.15+d-2024-12-15-nw-all"
    assert dataset.metadata.date_published == datetime(2024, 12, 15, 0, 6, 30, tzinfo=UTC)


def test_mlcroissant_reads_every_row_of_the_shards(dataset: mlc.Dataset) -> None:
    rows = list(dataset.records("records"))
    assert len(rows) == 6
    ids = sorted(row["records/record_id"].decode() for row in rows)
    assert ids == ["r0000", "r0001", "r0002", "r1000", "r1001", "r1002"]
    first = next(row for row in rows if row["records/record_id"] == b"r1002")
    assert first["records/text"] == b"post 2 of shard 1, mail [EMAIL]"
    assert first["records/like_count"] == 2
    assert first["records/score"] == 0.5
    assert bool(first["records/is_reply"]) is False
    assert first["records/created_at"] == datetime(2024, 11, 21, tzinfo=UTC)
    assert first["records/created_on"].date() == date(2024, 11, 21)


def test_each_shard_is_a_file_object_with_its_hash(delivery: Path) -> None:
    document = json.loads((delivery / "croissant.json").read_text())
    manifest = json.loads((delivery / "manifest.json").read_text())
    assert document["@context"]["rai"] == "http://mlcommons.org/croissant/RAI/"
    assert document["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    objects = [d for d in document["distribution"] if d["@type"] == "cr:FileObject"]
    assert [(o["contentUrl"], o["sha256"]) for o in objects] == [
        (s["name"], s["sha256"]) for s in manifest["shards"]
    ]
    assert {o["encodingFormat"] for o in objects} == {"application/x-parquet"}
    file_set = next(d for d in document["distribution"] if d["@type"] == "cr:FileSet")
    assert file_set["includes"] == ["part-00000.parquet", "part-00001.parquet"]


def test_fields_carry_the_schema_types_and_descriptions(dataset: mlc.Dataset) -> None:
    (record_set,) = dataset.metadata.record_sets
    types = {f.name: (str(f.data_types[0]), f.description) for f in record_set.fields}
    assert types["record_id"] == ("https://schema.org/Text", "Pseudonym of the post.")
    assert types["like_count"][0] == "https://schema.org/Integer"
    assert types["score"][0] == "https://schema.org/Float"
    assert types["is_reply"][0] == "https://schema.org/Boolean"
    assert types["created_at"][0] == "https://schema.org/DateTime"
    assert types["created_on"][0] == "https://schema.org/Date"


def test_responsible_ai_fields_say_how_consent_selected_the_posts(dataset: mlc.Dataset) -> None:
    meta = dataset.metadata
    assert "consent allowed sharing with Northwind AI Ltd" in meta.data_collection
    assert "51 posts scanned, 45 excluded, 6 delivered" in meta.data_collection
    assert meta.data_collection_type == ["User-generated content data"]
    assert meta.data_preprocessing_protocol[0].startswith("redact: Emails, phones")
    assert any("HMAC-SHA256 pseudonyms" in s for s in meta.personal_sensitive_information)
    assert "Timestamps are coarsened to the day." in meta.personal_sensitive_information
    assert meta.data_use_cases == [
        "Train AI System (train_ai_system) by Northwind AI Ltd under license nw-all: "
        "Pretraining of the Northwind chat model."
    ]
    assert "DE, US-CA" in meta.data_biases[0]
    assert meta.data_limitations and meta.data_social_impact
    assert "within 21 days" in meta.data_release_maintenance_plan
    license_ = meta.license[0]
    assert "granted to Northwind AI Ltd (GB)" in license_.description
    assert "No redistribution" in license_.description


def test_metadata_describes_the_transforms_applied_not_those_asked_for(tmp_path: Path) -> None:
    manifest = base_manifest(tmp_path, shards=1, rows=1)
    assert manifest["license"]["transforms"]["redact"] is True  # asked for ...
    manifest["transforms"] = []  # ... but the export says it applied nothing
    document = json.loads(write_croissant(tmp_path, Manifest.model_validate(manifest)).read_text())
    sensitive = document["rai:personalSensitiveInformation"]
    assert "without redaction: it may contain personal data" in sensitive[1]
    assert not any("pseudonyms" in s or "coarsened" in s for s in sensitive)
    assert document["rai:dataPreprocessingProtocol"] == ["No transforms were applied."]
    datasheet = write_datasheet(tmp_path, Manifest.model_validate(manifest)).read_text()
    assert "- **Redaction**: none; the text is delivered as written." in datasheet
    assert "- **Pseudonymization**: none." in datasheet
    assert "- **Timestamps**: exact (UTC)." in datasheet
    assert "- No transforms were applied." in datasheet


@pytest.mark.parametrize(
    ("arrow", "croissant"),
    [
        ("string", "sc:Text"),
        ("large_string", "sc:Text"),
        ("int64", "sc:Integer"),
        ("uint8", "sc:Integer"),
        ("double", "sc:Float"),
        ("decimal128(10, 2)", "sc:Float"),
        ("bool", "sc:Boolean"),
        ("timestamp[us, tz=UTC]", "sc:DateTime"),
        ("date32[day]", "sc:Date"),
    ],
)
def test_arrow_types_map_to_croissant_types(arrow: str, croissant: str) -> None:
    assert croissant_data_type(arrow, column="c") == croissant


def test_an_unmappable_column_type_is_named(tmp_path: Path) -> None:
    manifest = base_manifest(tmp_path, shards=1, rows=1)
    manifest["schema"].append({"name": "tags", "type": "list<item: string>", "description": ""})
    with pytest.raises(InvalidInput, match=r"^manifest schema, field 'tags': Arrow type"):
        write_croissant(tmp_path, Manifest.model_validate(manifest))
    assert not (tmp_path / "croissant.json").exists()


def test_the_datasheet_has_every_section_in_order(delivery: Path) -> None:
    text = (delivery / "DATASHEET.md").read_text()
    positions = [text.index(section) for section in DATASHEET_SECTIONS]
    assert positions == sorted(positions)
    assert text.startswith("# Datasheet: delivery d-2024-12-15-nw-all\n")


def test_the_datasheet_counts_every_exclusion_reason(delivery: Path) -> None:
    text = (delivery / "DATASHEET.md").read_text()
    for reason, count in EXCLUDED.items():
        assert f"| `{reason}` | {count} | {EXCLUSION_REASON_TEXT[reason]} |" in text
    assert "51 posts scanned, 46 in scope, 45\nexcluded, 6 delivered." in text
    assert "1 allowed by\nthe author's own recorded choice, 5 by an\nopt-out policy default" in text
    assert "| US-CA | 5 | 25 |" in text and "| DE | 1 | 20 |" in text


def test_the_datasheet_describes_preprocessing_uses_and_maintenance(delivery: Path) -> None:
    text = (delivery / "DATASHEET.md").read_text()
    assert "Train AI System (train_ai_system). Pretraining of the Northwind chat model." in text
    assert "| `record_id` | string | Pseudonym of the post. |" in text
    assert "| `part-00001.parquet` | 3 |" in text
    assert "- **Timestamps**: coarsened to the day." in text
    assert "HMAC-SHA256 pseudonyms under a key unique to this collaborator" in text
    assert "- **Prohibited**: any other purpose" in text
    assert "within **21 days**" in text
    assert "consentry verify DIR --public-key" in text


def test_markdown_table_cells_are_escaped(tmp_path: Path) -> None:
    manifest = base_manifest(tmp_path, shards=1, rows=1)
    manifest["schema"][0]["description"] = "a | b\nc"
    text = write_datasheet(tmp_path, Manifest.model_validate(manifest)).read_text()
    assert "| `record_id` | string | a \\| b c |" in text
