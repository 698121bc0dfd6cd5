"""The embedded engine's delivery of a fixed platform under fixed keys is byte for byte the one
kept in tests/data/golden-delivery/ (timing fields normalized: see golden_delivery.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from golden_delivery import (
    GOLDEN,
    KEYS,
    build_golden_platform,
    delivery_files,
    export_golden,
)
from sqlalchemy import Engine

from consentry.pipeline.keys import SIGNING_KEY_ENV
from consentry.pipeline.verify import verify_delivery


def test_the_delivery_is_byte_identical_to_the_golden_one(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    build_golden_platform(engine)
    out = tmp_path / "delivery"
    export_golden(engine, tmp_path / "home", out)

    signer = Ed25519PrivateKey.from_private_bytes(base64.b64decode(KEYS[SIGNING_KEY_ENV]))
    report = verify_delivery(out, signer.public_key())
    assert report.ok, report.problems
    expected = {p.name: p.read_bytes() for p in sorted(GOLDEN.iterdir())}
    actual = delivery_files(out)
    assert sorted(actual) == sorted(expected)
    for name, data in expected.items():
        assert actual[name] == data, f"{name} differs from {GOLDEN / name}"
