"""The export's keys are created once, kept private (0600), reused, and can come from the
environment instead; a key file others can read is refused."""

from __future__ import annotations

import base64
import os
import stat
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consentry.errors import InvalidInput
from consentry.pipeline.keys import (
    SIGNING_KEY_ENV,
    key_id,
    load_public_key,
    pseudonym_key,
    pseudonym_key_env,
    public_key_pem,
    signing_key,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture(autouse=True)
def _no_key_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CONSENTRY_PSEUDONYM_KEY_") or name == SIGNING_KEY_ENV:
            monkeypatch.delenv(name)


def test_signing_key_is_created_private_and_reused(tmp_path: Path) -> None:
    first = signing_key(tmp_path)
    path = tmp_path / "keys" / "signing-ed25519.pem"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert _raw_public(signing_key(tmp_path)) == _raw_public(first)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_signing_key_from_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_disk = signing_key(tmp_path)
    kms = Ed25519PrivateKey.generate()
    raw = kms.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    monkeypatch.setenv(SIGNING_KEY_ENV, base64.b64encode(raw).decode())
    assert _raw_public(signing_key(tmp_path)) == _raw_public(kms) != _raw_public(on_disk)
    assert signing_key(tmp_path / "elsewhere") and not (tmp_path / "elsewhere" / "keys").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("not base64!", "is not base64"), (base64.b64encode(b"short").decode(), "decodes to 5 bytes")],
)
def test_a_malformed_environment_key_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, value)
    with pytest.raises(InvalidInput, match=expected) as caught:
        signing_key(tmp_path)
    assert f"environment variable {SIGNING_KEY_ENV}" in str(caught.value)


def test_a_key_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    signing_key(tmp_path)
    path = tmp_path / "keys" / "signing-ed25519.pem"
    path.chmod(0o644)
    with pytest.raises(InvalidInput) as caught:
        signing_key(tmp_path)
    message = str(caught.value)
    assert str(path) in message and "0644" in message and f"chmod 600 {path}" in message
    path.chmod(0o600)
    assert signing_key(tmp_path)


def test_a_signing_key_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing-ed25519.pem"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    with pytest.raises(InvalidInput, match="expected an Ed25519 private key"):
        signing_key(tmp_path)


def test_public_key_pem_and_key_id_identify_the_key() -> None:
    key = Ed25519PrivateKey.generate()
    pem = public_key_pem(key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert public_key_pem(key.public_key()) == pem
    loaded = load_public_key(pem, where="test")
    assert key_id(loaded) == key_id(key.public_key())
    assert len(key_id(loaded)) == 16 and int(key_id(loaded), 16) >= 0
    assert key_id(Ed25519PrivateKey.generate().public_key()) != key_id(loaded)


def test_load_public_key_names_where_the_bad_pem_came_from() -> None:
    with pytest.raises(InvalidInput, match=r"^pub\.pem: not a PEM public key"):
        load_public_key(b"hello", where="pub.pem")
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidInput, match="expected an Ed25519 public key"):
        load_public_key(pem, where="pub.pem")


def test_pseudonym_keys_are_per_collaborator_private_and_stable(tmp_path: Path) -> None:
    northwind = pseudonym_key(tmp_path, "northwind-ai")
    lumen = pseudonym_key(tmp_path, "lumen-labs")
    assert len(northwind) == len(lumen) == 32 and northwind != lumen
    path = tmp_path / "keys" / "pseudonym-northwind-ai.key"
    assert path.read_bytes() == northwind and _mode(path) == 0o600
    assert pseudonym_key(tmp_path, "northwind-ai") == northwind


def test_an_existing_pseudonym_key_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "pseudonym-acme.key"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(b"k" * 32)
    path.chmod(0o600)
    assert pseudonym_key(tmp_path, "acme") == b"k" * 32
    assert path.read_bytes() == b"k" * 32


def test_processes_racing_to_create_a_key_all_get_the_same_one(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4, mp_context=get_context("spawn")) as pool:
        keys = list(pool.map(pseudonym_key, [tmp_path] * 8, ["race"] * 8))
    assert len(set(keys)) == 1
    assert (tmp_path / "keys" / "pseudonym-race.key").read_bytes() == keys[0]
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["pseudonym-race.key"]


def test_a_truncated_pseudonym_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "pseudonym-acme.key"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(b"k" * 31)
    path.chmod(0o600)
    with pytest.raises(InvalidInput, match="holds 31 bytes, expected a 32-byte key"):
        pseudonym_key(tmp_path, "acme")


def test_a_world_readable_pseudonym_key_is_refused(tmp_path: Path) -> None:
    pseudonym_key(tmp_path, "acme")
    (tmp_path / "keys" / "pseudonym-acme.key").chmod(0o640)
    with pytest.raises(InvalidInput, match="chmod 600"):
        pseudonym_key(tmp_path, "acme")


def test_pseudonym_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pseudonym_key_env("northwind-ai.eu") == "CONSENTRY_PSEUDONYM_KEY_NORTHWIND_AI_EU"
    monkeypatch.setenv(
        "CONSENTRY_PSEUDONYM_KEY_NORTHWIND_AI_EU", base64.b64encode(b"e" * 32).decode()
    )
    assert pseudonym_key(tmp_path, "northwind-ai.eu") == b"e" * 32
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", ".hidden", "x" * 200, "tab\there"])
def test_collaborator_ids_that_cannot_name_a_file_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidInput, match="cannot name a key file") as caught:
        pseudonym_key(tmp_path, bad)
    assert caught.value.field == "collaborator_id"
    assert not (tmp_path / "keys").exists() or not any((tmp_path / "keys").iterdir())
