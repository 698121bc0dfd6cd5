"""Money as people type and read it, and as it is kept: integer minor units of an ISO 4217
currency (babel knows each currency's decimals), never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision, is_currency

from consentry.errors import InvalidInput


def check_currency(code: str, field: str = "currency") -> str:
    if not is_currency(code):
        raise InvalidInput(
            f"expected an ISO 4217 currency code like USD or EUR, got {code!r}", field=field
        )
    return code.upper()


def to_minor(amount: str, currency: str, field: str = "price") -> int:
    """A decimal amount typed by a person ("12.50") as minor units (1250); refuses negative
    amounts and more decimals than the currency has."""
    try:
        value = Decimal(amount.strip().replace(",", ""))
    except InvalidOperation as exc:
        raise InvalidInput(f"expected an amount like 12.50, got {amount!r}", field=field) from exc
    if not value.is_finite():
        raise InvalidInput(f"expected a finite number like 12.50, got {amount!r}", field=field)
    if value < 0:
        raise InvalidInput(f"a price cannot be negative, got {amount!r}", field=field)
    digits = get_currency_precision(currency)
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise InvalidInput(f"{currency} has {digits} decimals; {amount!r} has more", field=field)
    return int(minor)


def money(minor: int, currency: str, locale: str = "en") -> str:
    """Minor units as people read them ("$12.50")."""
    return format_currency(
        Decimal(minor).scaleb(-get_currency_precision(currency)), currency, locale=locale
    )


def percent_to_bp(percent: str, field: str = "creator_share") -> int:
    """A percentage typed by a person ("12.5") as basis points (1250); at most 2 decimals."""
    try:
        value = Decimal(percent.strip().rstrip("%") or "0")
    except InvalidOperation as exc:
        raise InvalidInput(
            f"expected a percentage like 10 or 12.5, got {percent!r}", field=field
        ) from exc
    bp = value.scaleb(2)
    if not value.is_finite() or bp != bp.to_integral_value():
        raise InvalidInput(f"expected at most 2 decimals, got {percent!r}", field=field)
    if not 0 <= bp <= 10_000:
        raise InvalidInput(f"a share is between 0% and 100%, got {percent!r}", field=field)
    return int(bp)
