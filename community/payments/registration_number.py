"""Japan's qualified-invoice registration number (適格請求書発行事業者登録番号): what a partner
types read as "T" and 13 ASCII digits, and the check digit of a corporation's number, which is "T"
and its corporate number (法人番号). A sole proprietor's number is not a corporate number, so a
number failing the check is refused only until the person confirms it. Pure functions; storing
and showing the number are the services' and the forms'.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from community.core.errors import DomainError

__all__ = [
    "DIGITS",
    "FIELD",
    "TYPED_MAX",
    "NotACorporateNumber",
    "check_registration_number",
    "corporate_check_digit",
    "normalise_registration_number",
    "passes_corporate_check",
]

FIELD = "registration_number"
DIGITS = 13
# Longer than any number typed with spaces and hyphens between its groups: refused before it is
# normalised, so that a pasted page costs nothing.
TYPED_MAX = 40

_CANONICAL = re.compile(r"T[0-9]{13}")
_BARE = re.compile(r"[0-9]{13}")
_TWELVE = re.compile(r"[0-9]{12}")

# Full-width forms (ＴＡ１２, the ideographic space, the full-width hyphen) are what a Japanese
# input method types, and NFKC reads them as ASCII. NFKC is applied to them alone: applied to the
# whole text it would also read ①, ² or the mathematical 𝟕 as digits, which nobody types for a
# number on an invoice.
_FULL_WIDTH = re.compile("[\u3000\uff01-\uff5e]")
# What people put between the groups of digits (T 7000-0120-50002), besides spaces of any width:
# the hyphens, dashes and minus signs that fonts and input methods make look alike, the long
# vowel mark ー among them (a Japanese input method types it for "-").
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70")
# What a paste or a form brings around a number, trimmed. Not str.strip()'s whitespace, which
# also takes NEL, the line separator and the file separators, all of them refused below.
_AROUND = " \t\r\n\u00a0\u3000"
# Control, format (zero-width, bidirectional) and surrogate characters, and the line and
# paragraph separators: none has a place in a number, and the format ones are invisible.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class NotACorporateNumber(DomainError):
    """The number is well formed but fails the corporate number's check digit: it is a typing
    mistake, or a sole proprietor's number, which only the person can say. A form shows a box to
    tick ("this is a sole proprietor's number") and sends the number again with `confirmed`."""

    code = "registration_number_unconfirmed"

    def __init__(self, number: str) -> None:
        super().__init__(
            _l(
                "%(number)s is not a corporation's registration number: its check digit does not"
                " match. Check the number, or, if it is a sole proprietor's registration number,"
                " tick the box to confirm it.",
                number=number,
            ),
            field=FIELD,
        )
        self.number = number


def normalise_registration_number(raw: str) -> str:
    """What was typed (full-width, lower-case t, spaces or hyphens between the groups) as "T" and
    13 ASCII digits. Raises DomainError on `registration_number` for anything else; the check
    digit is check_registration_number's."""
    typed = (raw or "").strip(_AROUND)
    if not typed:
        raise DomainError(
            _l("Enter the registration number: T followed by 13 digits, such as T7000012050002."),
            field=FIELD,
        )
    if len(typed) > TYPED_MAX:
        raise DomainError(
            _l(
                "This is too long for a registration number, which is T followed by 13 digits,"
                " such as T7000012050002."
            ),
            field=FIELD,
        )
    if any(unicodedata.category(character) in _INVISIBLE_CATEGORIES for character in typed):
        raise DomainError(
            _l(
                "Remove the control or invisible characters from the registration number: it is"
                " T followed by 13 digits, such as T7000012050002."
            ),
            field=FIELD,
        )
    typed = _FULL_WIDTH.sub(lambda match: unicodedata.normalize("NFKC", match[0]), typed)
    if typed[0] not in "Tt":
        raise DomainError(
            _l(
                "A registration number starts with T, followed by 13 digits, such as"
                " T7000012050002."
            ),
            field=FIELD,
        )
    digits = "".join(
        character for character in typed[1:] if not (character.isspace() or character in _DASHES)
    )
    # Not str.isdigit(): it also accepts ٧ (Arabic-Indic) and other scripts' digits, which no
    # invoice carries and which would come out of here as something that is not ASCII.
    if not all("0" <= character <= "9" for character in digits):
        raise DomainError(
            _l(
                "A registration number holds only T and the digits 0 to 9 (spaces and hyphens"
                " between them are fine), such as T7000012050002."
            ),
            field=FIELD,
        )
    if len(digits) != DIGITS:
        raise DomainError(
            _l(
                "This number has %(count)d digits after the T; a registration number has 13,"
                " such as T7000012050002.",
                count=len(digits),
            ),
            field=FIELD,
        )
    return "T" + digits


def corporate_check_digit(twelve: str) -> int:
    """The check digit of a corporate number whose other twelve digits are `twelve`: 9 less the
    sum, mod 9, of each digit weighted 1 or 2, alternately, from the right (1 for the last).
    Raises ValueError unless `twelve` is 12 ASCII digits."""
    if not _TWELVE.fullmatch(twelve):
        raise ValueError(f"a corporate number's base is 12 ASCII digits, not {twelve!r}")
    weighted = sum(
        int(digit) * (1 if position % 2 else 2)
        for position, digit in enumerate(reversed(twelve), start=1)
    )
    return 9 - weighted % 9


def passes_corporate_check(number: str) -> bool:
    """True if `number` ("T" and 13 digits, or the 13 digits alone) is a corporate number, its
    first digit the check digit of the other twelve; false for anything else."""
    if _CANONICAL.fullmatch(number):
        number = number[1:]
    if not _BARE.fullmatch(number):
        return False
    return int(number[0]) == corporate_check_digit(number[1:])


def check_registration_number(raw: str, *, confirmed: bool = False) -> str:
    """The canonical number of what was typed. A number that is not a corporate number is
    refused with NotACorporateNumber unless `confirmed` (the person ticked that it is a sole
    proprietor's); anything malformed is refused with DomainError, confirmed or not."""
    number = normalise_registration_number(raw)
    if not confirmed and not passes_corporate_check(number):
        raise NotACorporateNumber(number)
    return number
