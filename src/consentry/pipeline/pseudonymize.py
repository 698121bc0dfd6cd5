"""Per-collaborator keyed pseudonyms (HMAC-SHA256), computed in bulk inside a relational plan.

HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). DuckDB has SHA-256 over blobs, so the two
padded keys are prepared here once and the HMAC is one vectorized SQL expression; the Python
``hmac`` module is the reference the tests compare it with.
"""

from __future__ import annotations

import hashlib
import hmac

BLOCK = 64
PSEUDONYM_HEX = 32
"""128 bits: no collisions at platform scale, half the bytes of a full digest."""

ACCOUNT_PREFIX = "account:"
POST_PREFIX = "post:"


def padded_keys(key: bytes) -> tuple[bytes, bytes]:
    """The (inner, outer) HMAC key blocks for ``key``."""
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\x00")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sql(expression: str, *, inner: str = "$hmac_inner", outer: str = "$hmac_outer") -> str:
    """SQL for the pseudonym of the VARCHAR ``expression`` (hex, PSEUDONYM_HEX long)."""
    message = f"encode({expression})"
    digest = f"sha256({outer} || unhex(sha256({inner} || {message})))"
    return f"CASE WHEN {expression} IS NULL THEN NULL ELSE left({digest}, {PSEUDONYM_HEX}) END"


def hmac_parameters(key: bytes) -> dict[str, bytes]:
    inner, outer = padded_keys(key)
    return {"hmac_inner": inner, "hmac_outer": outer}


def pseudonym(key: bytes, message: str) -> str:
    """The reference implementation, one value at a time."""
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]
