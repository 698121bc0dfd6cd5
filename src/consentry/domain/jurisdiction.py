"""Jurisdiction keys and how a policy default is resolved for one account.

An account's jurisdiction is an ISO 3166 code: a country (``DE``) or a subdivision (``US-CA``).
Policy defaults are keyed by subdivision, country, group (``EU``) or ``*``; the most specific
key that matches wins.
"""

from __future__ import annotations

from collections.abc import Mapping

from consentry.domain.types import DefaultRule

EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
EEA_EXTRA = frozenset({"IS", "LI", "NO"})

GROUPS: dict[str, frozenset[str]] = {
    "EU": EU_COUNTRIES,
    "EEA": EU_COUNTRIES | EEA_EXTRA,
}

WILDCARD = "*"


def country_of(jurisdiction: str) -> str:
    return jurisdiction.split("-", 1)[0].upper()


def candidate_keys(jurisdiction: str) -> list[str]:
    """Keys that may hold the default for ``jurisdiction``, most specific first."""
    code = jurisdiction.upper()
    country = country_of(code)
    keys = [code] if code != country else []
    keys.append(country)
    keys.extend(group for group, members in GROUPS.items() if country in members)
    keys.append(WILDCARD)
    return keys


def resolve_default(
    defaults: Mapping[str, DefaultRule], jurisdiction: str
) -> tuple[str, DefaultRule] | None:
    """The (key, default) that applies to ``jurisdiction``, or None if no key matches."""
    for key in candidate_keys(jurisdiction):
        if key in defaults:
            return key, defaults[key]
    return None


def validate_key(key: str) -> str:
    """Normalise a policy-default key, raising ValueError on a malformed one."""
    key = key.strip().upper()
    if key == WILDCARD or key in GROUPS:
        return key
    country, dash, sub = key.partition("-")
    bad_sub = bool(dash) and not (1 <= len(sub) <= 3 and sub.isascii() and sub.isalnum())
    if len(country) != 2 or not country.isalpha() or bad_sub:
        raise ValueError(
            f"jurisdiction key {key!r} is not an ISO 3166 code (e.g. 'DE', 'US-CA'), "
            f"a group ({', '.join(GROUPS)}) or '*'"
        )
    return key


GPC_US_STATES = frozenset(
    "US-CA US-CO US-CT US-NJ US-OR US-TX US-MT US-DE US-NH US-MN US-MD".split()
)
"""US states whose privacy laws require honouring a universal opt-out signal such as GPC."""
GPC_COUNTRIES = EU_COUNTRIES | EEA_EXTRA | {"GB"}
"""Where GDPR Art. 21(5) (and the UK GDPR) let a person object by automated means."""


def gpc_is_an_opt_out(jurisdiction: str) -> bool:
    """Must a Global Privacy Control signal be honoured as an opt-out here?"""
    code = jurisdiction.upper()
    return code in GPC_US_STATES or country_of(code) in GPC_COUNTRIES
