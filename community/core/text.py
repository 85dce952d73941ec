"""What text may hold: one rule for the characters that break a line or a database, used by every
form, the API's schemas, e-mail headers and calendar lines. Field lengths and formats stay with the
forms that know them.

A "line" (a name, a title, a subject) holds no control character and no Unicode line or paragraph
separator: U+2028, U+2029 and NEL (U+0085) pass a plain `[\\x00-\\x1f]` check, yet mail and
calendar libraries treat them as line ends, which breaks a header after the change was committed.
A "text" (a description, a message) may also hold tabs and ordinary line breaks. Nothing may hold
NUL (PostgreSQL refuses it) or a lone surrogate (it cannot be encoded as UTF-8).
"""

from __future__ import annotations

import re

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
