"""Which policy-default key applies to an account's jurisdiction, and which keys are well formed."""

from __future__ import annotations

import pytest

from consentry.domain.jurisdiction import candidate_keys, resolve_default, validate_key
from consentry.domain.types import DefaultRule

OPT_IN, OPT_OUT, NEVER = DefaultRule.OPT_IN, DefaultRule.OPT_OUT, DefaultRule.NEVER


@pytest.mark.parametrize(
    ("jurisdiction", "keys"),
    [
        pytest.param("US-CA", ["US-CA", "US", "*"], id="us-state"),
        pytest.param("US", ["US", "*"], id="country-alone"),
        pytest.param("DE", ["DE", "EU", "EEA", "*"], id="eu-member-is-in-eu-and-eea"),
        pytest.param("FR-75", ["FR-75", "FR", "EU", "EEA", "*"], id="eu-subdivision"),
        pytest.param("NO", ["NO", "EEA", "*"], id="eea-but-not-eu"),
        pytest.param("GB", ["GB", "*"], id="uk-is-in-no-group"),
        pytest.param("BR", ["BR", "*"], id="elsewhere"),
        pytest.param("us-ca", ["US-CA", "US", "*"], id="lower-case-is-normalised"),
    ],
)
def test_candidate_keys_run_from_most_to_least_specific(jurisdiction: str, keys: list[str]) -> None:
    assert candidate_keys(jurisdiction) == keys


DEFAULTS = {"US-CA": OPT_IN, "US": OPT_OUT, "EU": OPT_IN, "IE": OPT_OUT, "*": NEVER}


@pytest.mark.parametrize(
    ("jurisdiction", "resolved"),
    [
        pytest.param("US-CA", ("US-CA", OPT_IN), id="subdivision-beats-country"),
        pytest.param("US-TX", ("US", OPT_OUT), id="country-when-subdivision-has-no-key"),
        pytest.param("IE", ("IE", OPT_OUT), id="country-beats-group"),
        pytest.param("DE", ("EU", OPT_IN), id="group-beats-wildcard"),
        pytest.param("JP", ("*", NEVER), id="wildcard-last"),
    ],
)
def test_the_most_specific_key_wins(jurisdiction: str, resolved: tuple) -> None:
    assert resolve_default(DEFAULTS, jurisdiction) == resolved


def test_no_matching_key_resolves_to_nothing() -> None:
    """The rule then treats the version as opt_in; resolution itself does not guess."""
    assert resolve_default({"US": OPT_OUT, "EU": OPT_IN}, "BR") is None


@pytest.mark.parametrize(
    ("key", "normalised"),
    [
        (" us-ca ", "US-CA"),
        ("de", "DE"),
        ("eu", "EU"),
        ("EEA", "EEA"),
        ("*", "*"),
        ("GB-ENG", "GB-ENG"),
        ("FR-75", "FR-75"),
    ],
)
def test_valid_keys_are_normalised(key: str, normalised: str) -> None:
    assert validate_key(key) == normalised


@pytest.mark.parametrize("key", ["", "E", "USA", "U1", "12", "US-CALI", "EUROPE"])
def test_malformed_keys_are_refused_with_what_was_expected(key: str) -> None:
    with pytest.raises(ValueError) as raised:
        validate_key(key)
    message = str(raised.value)
    assert repr(key.strip().upper()) in message
    assert "ISO 3166" in message and "'US-CA'" in message and "EU" in message and "'*'" in message


@pytest.mark.parametrize("key", ["US-", "US--", "US-C@"])
def test_subdivision_must_be_one_to_three_letters_or_digits(key: str) -> None:
    """ISO 3166-2 subdivision codes are 1-3 alphanumerics; such a key would never match."""
    with pytest.raises(ValueError, match="ISO 3166"):
        validate_key(key)
