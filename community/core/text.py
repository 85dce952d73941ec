"""Input, handled once: what text may hold, how long each kind of text may be, and how what people
type is cleaned and normalised, for every form, the API's schemas, the services, e-mail headers
and calendar lines. Parsing money is core.money's, and the WTForms fields are core.forms'.

A "line" (a name, a title, a subject) holds no control character and no Unicode line or paragraph
separator: U+2028, U+2029 and NEL (U+0085) pass a plain `[\\x00-\\x1f]` check, yet mail and
calendar libraries treat them as line ends, which breaks a header after the change was committed.
A "text" (a description, a message) may also hold tabs and ordinary line breaks. Nothing may hold
NUL (PostgreSQL refuses it) or a lone surrogate (it cannot be encoded as UTF-8).

The limits are counted in characters, as Python's len() and a column's String(n) count them;
where a column holds the text, its size is the same number.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from community.core.errors import DomainError

# --- limits --------------------------------------------------------------------------------------

NAME_MAX = 120  # a person's name, a ticket type's name
EMAIL_MAX = 254  # the longest address SMTP carries (RFC 5321's path, less its brackets)
PASSWORD_MAX = 200
EVENT_SLUG_MAX = 80  # the address of an event's page
SHORT_SLUG_MAX = 60  # a ticket type's or a category's short name
TITLE_MAX = 200
SUMMARY_MAX = 500
LONG_TEXT_MAX = 50_000  # a description or what to bring, in Markdown
URL_MAX = 500
VENUE_NAME_MAX = 200
ADDRESS_MAX = 300  # a postal address
COORDINATE_MAX = 40  # a latitude or longitude as typed
TIME_ZONE_MAX = 64  # the longest IANA zone name is 32; the column holds 64
QUESTION_MAX = 300  # a registration question's text
SHORT_ANSWER_MAX = 300
LONG_ANSWER_MAX = 5000
OPTIONS_MAX = 5000  # a choice question's options, one per line
NOTE_MAX = 5000  # a short message or list in a text area: a cancellation, the organisers
SUBJECT_MAX = 200  # an e-mail's subject
MESSAGE_MAX = 20_000  # an e-mail's body
TOKEN_NAME_MAX = 80
SEARCH_MAX = 100  # what a search box keeps
TICKET_CODE_MAX = 64  # a scanned code, looked up only
VOUCHER_MAX = 100
DESCRIPTION_MAX = 300  # what an order bought, why a refund was made: written by our code
PAYMENT_REFERENCE_MAX = 200  # the reference a bank transfer carries
PRICE_TEXT_MAX = 20  # a price as typed: "￥１，０００，０００円" and room to spare
AMOUNT_TEXT_MAX = 40  # an amount to refund as typed (see payments.forms)

# --- characters ----------------------------------------------------------------------------------

# C0 controls, DEL, C1 controls (NEL among them), line and paragraph separators, surrogates.
LINE_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# The same, less tab, line feed and carriage return, which a text area legitimately sends.
TEXT_BREAKERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# What no request may carry anywhere: NUL, and lone surrogates (JSON's "\ud800").
FORBIDDEN_IN_REQUESTS = re.compile("[\x00\ud800-\udfff]")


def is_single_line(value: str) -> bool:
    return not LINE_BREAKERS.search(value)


def is_clean_text(value: str) -> bool:
    return not TEXT_BREAKERS.search(value)


def one_line(value: str | None) -> str:
    """`value` made safe for an e-mail header or a calendar property: every line breaker becomes a
    space and runs of spaces are folded. For text we send out, never for what we store."""
    if not value:
        return ""
    return " ".join(LINE_BREAKERS.sub(" ", str(value)).split())


_PARAGRAPH_ENDS = re.compile("\r\n|[\r\x85\u2028\u2029]")


def plain_text(value: str | None) -> str:
    """`value` made safe for a multi-line text we send out (a calendar DESCRIPTION): every kind
    of line end becomes a newline, and the other breakers are dropped."""
    if not value:
        return ""
    return TEXT_BREAKERS.sub("", _PARAGRAPH_ENDS.sub("\n", str(value))).strip()


def search_term(value: str | None) -> str:
    """A search as typed, its line breakers dropped (nobody searches for them, and PostgreSQL
    refuses NUL even in a query's parameters)."""
    return LINE_BREAKERS.sub("", value or "").strip()


def has_forbidden_character(value) -> bool:
    """True if a string, or any string inside lists and dicts (a JSON body), holds NUL or a lone
    surrogate."""
    if isinstance(value, str):
        return FORBIDDEN_IN_REQUESTS.search(value) is not None
    if isinstance(value, dict):
        return any(
            has_forbidden_character(key) or has_forbidden_character(item)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return any(has_forbidden_character(item) for item in value)
    return False


def unix_lines(value: str | None) -> str:
    """`value` with LF line ends: browsers send text areas with CRLF, stored text has LF."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


# --- normalising ---------------------------------------------------------------------------------

# What a Japanese input method types where a number is meant: full-width digits, signs, comma and
# full stop, the full-width yen sign and the ideographic space, read as their ASCII (or Latin-1)
# counterparts. A table rather than NFKC, which would also read ① or ² as digits.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９＋－，．￥\u3000", "0123456789+-,.¥ ")


def half_width(value: str | None) -> str:
    """'３，０００' → '3,000', '－３５．６' → '-35.6'; every other character as it was."""
    return (value or "").translate(_HALF_WIDTH)


def normalise_email(address: str | None) -> str:
    """The canonical form of an address, used for storing and looking up: trimmed, its domain
    in IDNA's form, Unicode in NFC, lower case. Raises DomainError (on `email`) for anything that
    is not an address."""
    address = (address or "").strip()
    # No address is longer than EMAIL_MAX (email-validator says so too): nothing longer is kept.
    normalised = _normalised_email(address) if len(address) <= EMAIL_MAX else None
    if normalised is None:
        raise DomainError(_l("Enter a valid e-mail address."), field="email")
    return normalised


# Remembered: the API's schema and the service it calls check the same address, and
# email-validator's checks are a good part of a registration's work. A pure function of the text.
@lru_cache(maxsize=1024)
def _normalised_email(address: str) -> str | None:
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return valid.normalized.lower()


def email_key(address: str | None) -> str:
    """An address as normalise_email makes it, or, when it is none, trimmed and lower-cased (at
    most EMAIL_MAX characters): a key to group what was typed (a rate limit's, a list's), never
    a stored address."""
    try:
        return normalise_email(address)
    except DomainError:
        return (address or "").strip().lower()[:EMAIL_MAX]


def spreadsheet_cell(value: str) -> str:
    """What people typed, safe in a CSV cell: one starting with = + - @ (or a tab or CR) would
    run as a formula in a spreadsheet (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def contains_pattern(search: str) -> str:
    """A LIKE pattern (with `escape="\\"`) for text containing `search`, lower-cased: a search
    for "_" or "%" means those characters, not LIKE's wildcards."""
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
