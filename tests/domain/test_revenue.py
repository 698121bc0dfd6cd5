"""Prices, the token estimate and the creators' split: integers, and the parts sum exactly."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.domain.revenue import creator_pool, estimate_tokens, fee, split


def test_each_price_model_bills_in_whole_minor_units() -> None:
    assert fee(price_model="per_record", unit_price_minor=3, records=1000, tokens=9) == 3000
    assert fee(price_model="flat", unit_price_minor=2_500_000, records=7, tokens=9) == 2_500_000
    # 40 cents per 1,000 tokens: 1,250 tokens is 50 cents; 1,001 tokens 40.04 -> 40 cents
    assert fee(price_model="per_1k_tokens", unit_price_minor=40, records=1, tokens=1250) == 50
    assert fee(price_model="per_1k_tokens", unit_price_minor=40, records=1, tokens=1001) == 40
    # half a cent rounds up
    assert fee(price_model="per_1k_tokens", unit_price_minor=1, records=1, tokens=500) == 1
    with pytest.raises(ValueError, match="unknown price model 'per_token'"):
        fee(price_model="per_token", unit_price_minor=1, records=1, tokens=1)


def test_tokens_are_estimated_as_four_characters_each_rounded_up() -> None:
    texts = pa.array(["", "abcd", "abcde", None, "héllo wörld", "日本語"])
    assert estimate_tokens(texts).to_pylist() == [0, 1, 2, 0, 3, 1]


def test_the_creators_pool_never_exceeds_the_share() -> None:
    assert creator_pool(999, 1_000) == 99  # 10% of 9.99 is 0.999: 99 cents, not 100
    assert creator_pool(1000, 10_000) == 1000
    assert creator_pool(1000, 0) == 0


def test_largest_remainder_gives_the_leftover_units_to_the_largest_remainders() -> None:
    # 100 split 1:1:1 -> 33.33 each; the one leftover unit goes to the first (ties: earlier)
    assert split(100, [1, 1, 1]) == [34, 33, 33]
    # 10 split 5:3:2 exactly
    assert split(10, [5, 3, 2]) == [5, 3, 2]
    # 7 split 1:2:4 = 1, 2, 4; 5 split 1:2:4 = 0.71, 1.43, 2.86 -> 1, 1, 3
    assert split(5, [1, 2, 4]) == [1, 1, 3]
    assert split(9, [0, 0]) == [0, 0]


@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=50),
)
def test_the_parts_always_sum_to_the_total_and_stay_within_one_unit_of_the_quota(
    total: int, weights: list[int]
) -> None:
    parts = split(total, weights)
    whole = sum(weights)
    if whole == 0:
        assert parts == [0] * len(weights)
        return
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        assert total * weight // whole <= part <= total * weight // whole + 1
