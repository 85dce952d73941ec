"""Money: an integer amount in the currency's minor unit plus an ISO 4217 code.

One table of exponents; formatting and parsing go through here (and the `money` template filter).
No floats anywhere: ¥5,000 is 5000 and $12.34 is 1234.
"""

from __future__ import annotations

import re

from babel.numbers import format_currency

# ISO 4217 minor-unit exponents of the currencies we accept.
EXPONENTS = {"JPY": 0, "USD": 2, "EUR": 2, "GBP": 2, "AUD": 2, "CAD": 2, "SGD": 2, "KRW": 0}

_AMOUNT = re.compile(r"^\s*(\d{1,12})(?:[.](\d{1,4}))?\s*$")


class MoneyError(ValueError):
    pass


def is_known_currency(code: str) -> bool:
    return (code or "").upper() in EXPONENTS


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency.upper()]
    except KeyError as error:
        raise MoneyError(f"unknown currency {currency!r}") from error


def parse_amount(text: str, currency: str) -> int:
    """'5,000' JPY → 5000; '12.5' USD → 1250. Refuses negatives, too many decimals, junk."""
    digits = exponent(currency)
    cleaned = (text or "").replace(",", "").replace("¥", "").replace("$", "")
    match = _AMOUNT.match(cleaned)
    if not match:
        raise MoneyError("not an amount")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > digits:
        raise MoneyError("too many decimals for this currency")
    return int(whole) * 10**digits + int(fraction.ljust(digits, "0") or 0)


def to_major_string(amount_minor: int, currency: str) -> str:
    """5000 JPY → '5000'; 1250 USD → '12.50' (for form fields)."""
    digits = exponent(currency)
    if digits == 0:
        return str(amount_minor)
    return f"{amount_minor // 10**digits}.{amount_minor % 10**digits:0{digits}d}"


def format_money(amount_minor: int | None, currency: str, language: str = "en") -> str:
    if amount_minor is None:
        return ""
    digits = exponent(currency)
    major = amount_minor / 10**digits if digits else amount_minor
    locale = "ja_JP" if language == "ja" else "en_US"
    return format_currency(major, currency.upper(), locale=locale)
