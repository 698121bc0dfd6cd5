"""``consentry verify DIR`` prints every check and exits 1 when a delivery was tampered with."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fake_delivery import build_delivery
from typer.testing import CliRunner

from consentry.cli import app
from consentry.cli.app import console, err_console
from consentry.pipeline.keys import key_id, public_key_pem

runner = CliRunner()


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long temporary paths must not be folded by the 80-column default of a non-terminal."""
    for each in (console, err_console):
        monkeypatch.setattr(each, "_width", 1000)  # restored to None, not frozen at 80


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def delivery(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    out = tmp_path / "delivery"
    build_delivery(out, key)
    return out


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", *args])
    return result.exit_code, " ".join(result.output.split())


def _pem_file(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "publisher.pem"
    path.write_text(public_key_pem(key))
    return path


def test_an_intact_delivery_passes_every_check(
    delivery: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    code, output = _run(str(delivery))
    assert code == 0, output
    assert "ok manifest.sig: valid Ed25519 signature of manifest.json" in output
    assert "ok part-00001.parquet: SHA-256, " in output
    assert "note the key" in output and "was taken from manifest.json itself" in output
    assert output.endswith(f"{delivery}: the delivery is intact.")

    code, output = _run(str(delivery), "--public-key", str(_pem_file(tmp_path, key)))
    assert code == 0 and "note" not in output
    assert f"by key {key_id(key.public_key())}" in output


def test_a_tampered_shard_fails_with_the_file_named(delivery: Path) -> None:
    shard = delivery / "part-00000.parquet"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    code, output = _run(str(delivery))
    assert code == 1
    assert f"PROBLEM {shard} has SHA-256 " in output
    assert "ok part-00001.parquet" in output  # the other checks still run and print
    assert f"{delivery}: 1 problem(s) found." in output


def test_a_key_that_did_not_sign_fails(delivery: Path, tmp_path: Path) -> None:
    code, output = _run(
        str(delivery), "--public-key", str(_pem_file(tmp_path, Ed25519PrivateKey.generate()))
    )
    assert code == 1
    assert "not by the trusted key" in output and "2 problem(s) found" in output


def test_an_unreadable_or_bad_public_key_file_is_one_clear_error(
    delivery: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.pem"
    code, output = _run(str(delivery), "--public-key", str(missing))
    assert code == 1
    assert f"error: {missing}: cannot read the public key (No such file or directory)" in output
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    code, output = _run(str(delivery), "--public-key", str(garbage))
    assert code == 1 and f"error: {garbage}: not a PEM public key" in output


def test_a_directory_without_a_manifest_fails(tmp_path: Path) -> None:
    code, output = _run(str(tmp_path))
    assert code == 1
    assert f"PROBLEM {tmp_path / 'manifest.json'} is missing" in output
