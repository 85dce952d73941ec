"""Money: an integer amount in the currency's minor unit plus an ISO 4217 code.

One table of exponents; formatting and parsing go through here (and the `money` template filter).
No floats anywhere: ¥5,000 is 5000 and $12.34 is 1234.

The yen sign follows each language's typesetting, everywhere a person reads an amount (pages,
e-mails, the CSV's formatted columns): Japanese text takes the full-width ￥ (U+FFE5) as
Japanese typesetting does, ￥3,000; English text the half-width ¥ (U+00A5), ¥3,000. Said here
rather than left to the locale data, so that an update of Babel's data cannot change it. What
machines read (the JSON API, the CSV's amount columns, calendars) keeps minor units and codes.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import format_currency

from community.core.text import half_width

# ISO 4217 minor-unit exponents of the currencies we accept.
EXPONENTS = {"JPY": 0, "USD": 2, "EUR": 2, "GBP": 2, "AUD": 2, "CAD": 2, "SGD": 2, "KRW": 0}

# ASCII digits only: without re.ASCII, \d also takes Arabic-Indic or Devanagari digits.
_AMOUNT = re.compile(r"^\s*(\d{1,12})(?:[.](\d{1,4}))?\s*$", re.ASCII)
# Signs around an amount that say nothing more than its currency does; another currency's sign
# is a mistake, refused with the rest of the junk.
_SIGNS = {"JPY": "¥円", "USD": "$", "AUD": "$", "CAD": "$", "SGD": "$"}
# The yen sign of each language (see the module's docstring).
YEN_SIGNS = {"ja": "\uffe5", "en": "\u00a5"}


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
    """'5,000' JPY → 5000; '12.5' USD → 1250; '￥３，０００' or '3000円' JPY → 3000.

    Refuses negatives, too many decimals, junk."""
    digits = exponent(currency)
    # What a Japanese input method types (full-width digits, ￥) is read as its ASCII form.
    cleaned = half_width(text).replace(",", "")
    for sign in _SIGNS.get(currency.upper(), ""):
        cleaned = cleaned.replace(sign, "")
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
    """5000 JPY → '￥5,000' in Japanese, '¥5,000' in English; 1234 USD → '$12.34'."""
    if amount_minor is None:
        return ""
    if currency.upper() == "JPY":
        sign = "-" if amount_minor < 0 else ""
        yen = YEN_SIGNS.get(language, YEN_SIGNS["en"])
        return f"{sign}{yen}{abs(amount_minor):,}"
    # A Decimal, not a float: 2**53 minor units and beyond keep their last digits.
    major = Decimal(amount_minor).scaleb(-exponent(currency))
    locale = "ja_JP" if language == "ja" else "en_US"
    return format_currency(major, currency.upper(), locale=locale)
