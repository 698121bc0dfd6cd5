"""Pseudonyms computed in SQL equal the reference HMAC-SHA256, and differ per key."""

from __future__ import annotations

import os

from consentry.domain.consent_bulk import connect
from consentry.pipeline.pseudonymize import hmac_parameters, hmac_sql, pseudonym


def test_sql_hmac_matches_python_hmac_for_any_text() -> None:
    key = os.urandom(32)
    values = ["1", "post:123", "é😀 ünïcode", "x" * 500, ""]
    con = connect()
    rows = con.sql(
        f"SELECT {hmac_sql('v')} FROM unnest($values) t(v)",
        params={"values": values, **hmac_parameters(key)},
    ).fetchall()
    assert [r[0] for r in rows] == [pseudonym(key, v) for v in values]


def test_long_keys_are_hashed_first_as_hmac_requires() -> None:
    key = os.urandom(100)
    con = connect()
    (value,) = con.sql(
        f"SELECT {hmac_sql(chr(39) + 'abc' + chr(39))}", params=hmac_parameters(key)
    ).fetchall()[0]
    assert value == pseudonym(key, "abc")


def test_two_collaborators_get_unrelated_pseudonyms() -> None:
    assert pseudonym(os.urandom(32), "post:1") != pseudonym(os.urandom(32), "post:1")
