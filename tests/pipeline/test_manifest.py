"""A signed manifest proves what a delivery holds: any change to a shard, the manifest, the
metadata or the set of files is found by ``verify_delivery`` and named in a sentence."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fake_delivery import EXCLUDED, base_manifest, build_delivery

from consentry.errors import InvalidInput
from consentry.pipeline.keys import key_id
from consentry.pipeline.manifest import (
    Manifest,
    canonical_json,
    sha256_file,
    write_signed_manifest,
)
from consentry.pipeline.verify import verify_delivery


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def delivery(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    out = tmp_path / "delivery"
    build_delivery(out, key)
    return out


def _only_problem(directory: Path, key: Ed25519PrivateKey | None = None) -> str:
    report = verify_delivery(directory, key.public_key() if key else None)
    assert not report.ok
    assert len(report.problems) == 1, report.problems
    return report.problems[0]


def _edit_manifest(directory: Path, edit) -> None:  # type: ignore[no-untyped-def]
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest, indent=2))


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": [1, 2], "a": "é"}) == '{"a":"é","b":[1,2]}'.encode()


def test_a_value_json_cannot_hold_is_named_by_its_path() -> None:
    with pytest.raises(InvalidInput, match=r"^manifest\.counts\.excluded\.minor: cannot be"):
        canonical_json({"counts": {"excluded": {"deleted": 1, "minor": {1, 2}}}})
    with pytest.raises(InvalidInput, match=r"^manifest\.shards\[1\]\.rows"):
        canonical_json({"shards": [{"rows": 1}, {"rows": float("nan")}]})


def test_sha256_file_streams_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 9000  # a little over 2 MiB, so several chunks
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_the_manifest_carries_its_key_and_the_signature_covers_it(
    delivery: Path, key: Ed25519PrivateKey
) -> None:
    manifest = json.loads((delivery / "manifest.json").read_text())
    assert manifest["signature"]["algorithm"] == "Ed25519"
    assert manifest["signature"]["key_id"] == key_id(key.public_key())
    assert manifest["signature"]["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    signature = base64.b64decode((delivery / "manifest.sig").read_text())
    key.public_key().verify(signature, canonical_json(manifest))  # raises if not
    assert [d["name"] for d in manifest["documents"]] == ["croissant.json", "DATASHEET.md"]


def test_write_signed_manifest_reports_what_it_wrote_and_leaves_no_temporary_files(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    manifest = base_manifest(tmp_path, shards=1, rows=2)
    signed = write_signed_manifest(tmp_path, Manifest.model_validate(manifest), key)
    assert signed.sha256 == sha256_file(tmp_path / "manifest.json")
    assert signed.signature_b64 == (tmp_path / "manifest.sig").read_text().strip()
    assert signed.key_id == key_id(key.public_key())
    assert "signature" not in manifest  # the caller's dict is left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "manifest.json",
        "manifest.sig",
        "part-00000.parquet",
    ]
    assert verify_delivery(tmp_path).ok


def test_an_untouched_delivery_verifies(delivery: Path, key: Ed25519PrivateKey) -> None:
    report = verify_delivery(delivery)
    assert report.ok and report.problems == []
    assert report.manifest is not None and report.manifest.counts.delivered == 6
    notes = [c.message for c in report.checks if c.status == "note"]
    assert len(notes) == 1 and "taken from manifest.json itself" in notes[0]
    passed = " ".join(c.message for c in report.checks if c.status == "ok")
    assert "part-00000.parquet: SHA-256, " in passed and "3 rows match" in passed
    assert "counts add up: 51 scanned = 6 delivered + 45 excluded" in passed

    trusted = verify_delivery(delivery, key.public_key())
    assert trusted.ok and not [c for c in trusted.checks if c.status == "note"]


def test_one_changed_byte_in_a_shard_is_found(delivery: Path) -> None:
    shard = delivery / "part-00001.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    problem = _only_problem(delivery)
    assert problem.startswith(f"{shard} has SHA-256 ")
    assert "the file was changed" in problem


def test_a_changed_count_in_the_manifest_breaks_the_signature(delivery: Path) -> None:
    def add_one(manifest: dict) -> None:  # type: ignore[type-arg]
        manifest["counts"]["excluded"]["denied"] += 1
        manifest["counts"]["scanned"] += 1  # even a consistent edit is caught

    _edit_manifest(delivery, add_one)
    problem = _only_problem(delivery)
    assert problem.startswith("manifest.sig does not match manifest.json")
    assert "changed after signing" in problem


def test_reformatting_the_manifest_keeps_the_signature_valid(delivery: Path) -> None:
    _edit_manifest(delivery, lambda manifest: None)  # other indentation, same content
    assert verify_delivery(delivery).ok


def test_an_extra_shard_is_found(delivery: Path) -> None:
    extra = delivery / "part-00002.parquet"
    extra.write_bytes((delivery / "part-00000.parquet").read_bytes())
    assert _only_problem(delivery) == (
        f"{extra} is not listed in manifest.json: a shard was added after signing."
    )


def test_a_missing_shard_is_found(delivery: Path) -> None:
    (delivery / "part-00000.parquet").unlink()
    problem = _only_problem(delivery)
    assert problem == f"{delivery / 'part-00000.parquet'} is listed in manifest.json but missing."


def test_an_edited_datasheet_is_found(delivery: Path) -> None:
    datasheet = delivery / "DATASHEET.md"
    datasheet.write_text(datasheet.read_text().replace("21 days", "90 days"))
    assert _only_problem(delivery).startswith(f"{datasheet} has SHA-256 ")
    listed = json.loads((delivery / "manifest.json").read_text())["documents"][1]
    datasheet.write_text(datasheet.read_text() + "\nappendix\n")
    assert _only_problem(delivery) == (
        f"{datasheet} has {datasheet.stat().st_size} bytes; manifest.json says "
        f"{listed['bytes']}: the file was changed."
    )


def test_a_wrong_trusted_key_is_reported(delivery: Path, key: Ed25519PrivateKey) -> None:
    stranger = Ed25519PrivateKey.generate()
    report = verify_delivery(delivery, stranger.public_key())
    assert not report.ok
    assert report.problems[0] == (
        f"manifest.json was signed by key {key_id(key.public_key())}, not by the trusted key "
        f"{key_id(stranger.public_key())}."
    )
    assert report.problems[1].startswith("manifest.sig does not match manifest.json under key")


def test_a_manifest_resigned_by_a_forger_passes_only_without_a_trusted_key(
    delivery: Path, key: Ed25519PrivateKey
) -> None:
    manifest = json.loads((delivery / "manifest.json").read_text())
    manifest["license"]["deletion_sla_days"] = 365
    forger = Ed25519PrivateKey.generate()
    write_signed_manifest(delivery, Manifest.model_validate(manifest), forger)
    assert verify_delivery(delivery).ok  # self-consistent, and says whose key it believed
    problems = verify_delivery(delivery, key.public_key()).problems
    assert problems == [
        f"manifest.json was signed by key {key_id(forger.public_key())}, not by the trusted key "
        f"{key_id(key.public_key())}.",
        f"manifest.sig does not match manifest.json under key {key_id(key.public_key())}: the "
        "manifest was changed after signing, or signed by another key.",
    ]


def test_a_missing_signature_file_is_reported(delivery: Path) -> None:
    (delivery / "manifest.sig").unlink()
    assert _only_problem(delivery) == (
        f"{delivery / 'manifest.sig'} is missing, so manifest.json cannot be checked."
    )


def test_a_missing_manifest_is_reported(tmp_path: Path) -> None:
    report = verify_delivery(tmp_path)
    assert not report.ok and report.manifest is None
    assert report.problems == [
        f"{tmp_path / 'manifest.json'} is missing: the delivery is unfinished or this is not "
        "a delivery directory."
    ]


def test_counts_that_do_not_add_up_are_reported_even_when_signed(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    manifest = base_manifest(tmp_path, shards=2, rows=3)
    manifest["counts"]["scanned"] += 2
    manifest["consent_basis_summary"]["event"] += 1
    write_signed_manifest(tmp_path, Manifest.model_validate(manifest), key)
    report = verify_delivery(tmp_path, key.public_key())
    total = sum(EXCLUDED.values())
    assert report.problems == [
        f"manifest.json says {6 + total + 2} posts scanned but 6 delivered + {total} excluded "
        f"= {6 + total}.",
        "manifest.json consent_basis_summary adds up to 7 delivered records, not 6.",
    ]


def test_a_wrong_row_count_and_unknown_reasons_are_reported(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    manifest = base_manifest(tmp_path, shards=1, rows=3)
    manifest["shards"][0]["rows"] = 4
    manifest["counts"]["excluded"]["bored"] = manifest["counts"]["excluded"].pop("minor")
    write_signed_manifest(tmp_path, Manifest.model_validate(manifest), key)
    problems = verify_delivery(tmp_path).problems
    assert problems[0] == f"{tmp_path / 'part-00000.parquet'} has 3 rows; manifest.json says 4."
    assert problems[1].startswith("manifest.json counts.excluded has reasons [")
    assert "'bored'" in problems[1] and "expected exactly ['direct_message'" in problems[1]
    assert problems[2] == "manifest.json says 3 records delivered but its shards hold 4 rows."


def test_a_shard_name_that_leaves_the_directory_is_refused(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    out = tmp_path / "delivery"
    manifest = base_manifest(out, shards=1, rows=3)
    (tmp_path / "outside.parquet").write_bytes((out / "part-00000.parquet").read_bytes())
    manifest["shards"][0]["name"] = "../outside.parquet"
    write_signed_manifest(out, Manifest.model_validate(manifest), key)
    problems = verify_delivery(out).problems
    assert problems[0] == (
        "manifest.json shard #1 has name '../outside.parquet'; expected a plain *.parquet file "
        "name."
    )
    assert f"{out / 'part-00000.parquet'} is not listed in manifest.json" in problems[1]
