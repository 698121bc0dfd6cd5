"""Prices and the creators' share: integers only (minor units of an ISO 4217 currency).

Tokens are estimated without a tokenizer: ``ceil(characters / 4)`` per delivered text, counted
in Unicode code points. Four characters per token is the usual rule of thumb for English BPE
tokenizers (GPT-style, about 0.75 words per token); it is deterministic and cheap, and both
sides of a license can recompute it from the delivered shards. A license priced per 1,000
tokens states this estimate, not any model's tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa
import pyarrow.compute as pc

PRICE_MODELS = {
    "per_record": "per record delivered",
    "per_1k_tokens": "per 1,000 tokens delivered (estimated: 4 characters a token)",
    "flat": "flat fee per delivery",
}
CHARS_PER_TOKEN = 4
BASIS_POINTS = 10_000
"""100% in basis points; a creator share is a whole number of them (0.01%)."""


def estimate_tokens(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Tokens per text (nulls count 0), vectorized: ``ceil(code points / 4)``."""
    length = pc.fill_null(pc.utf8_length(texts), 0).cast(pa.int64())
    return pc.divide(pc.add(length, CHARS_PER_TOKEN - 1), CHARS_PER_TOKEN)


def fee(*, price_model: str, unit_price_minor: int, records: int, tokens: int) -> int:
    """A delivery's fee in minor units; per 1,000 tokens rounds half up to a whole minor unit."""
    if price_model == "per_record":
        return records * unit_price_minor
    if price_model == "per_1k_tokens":
        return int((Decimal(tokens * unit_price_minor) / 1000).quantize(Decimal(1), ROUND_HALF_UP))
    if price_model == "flat":
        return unit_price_minor
    raise ValueError(f"unknown price model {price_model!r}; known: {', '.join(PRICE_MODELS)}")


def creator_pool(amount_minor: int, share_bp: int) -> int:
    """The creators' part of a fee, rounded down (the platform never pays out more than the
    share)."""
    return amount_minor * share_bp // BASIS_POINTS


def split(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` by the largest-remainder method: each gets
    the floor of its quota, and the units left over go to the largest remainders (ties to the
    earlier weight), so the parts sum to ``total`` exactly."""
    whole = sum(weights)
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("a split takes a non-negative total and weights")
    if whole == 0:
        return [0] * len(weights)
    floors = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(floors)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        floors[i] += 1
    return floors
