"""Invoices (請求書) and receipts (領収書) under Japan's qualified-invoice system
(適格請求書等保存方式): the tax of each rate rounded once per document, the issuer as configured
(registered or not), each document's number from a gapless series per year (`next_number`), and
the document as a standalone A4 HTML page or the PDF of that page. What was bought is not known
here: a domain (sponsorship, membership, donations) gives the buyer, the lines and the dates,
keeps the number it took and serves the result; only the series' counters are stored.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from base64 import b64encode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import cached_property
from hashlib import sha256

from babel.dates import format_date
from flask import Response, current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import CheckConstraint, Integer, String, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from community.core.dates import zone
from community.core.db import db, utcnow
from community.core.errors import DomainError
from community.core.money import format_money, is_known_currency
from community.core.text import LINE_BREAKERS, plain_text
from community.core.transaction import current_unit, write_transaction
from community.payments import registration_number

__all__ = [
    "INVOICE",
    "INVOICE_SERIES",
    "PAYMENT_METHODS",
    "RECEIPT",
    "RECEIPT_SERIES",
    "ROUNDINGS",
    "SERIES_OF",
    "Document",
    "DocumentNumber",
    "Issuer",
    "Line",
    "Party",
    "TaxLine",
    "breakable",
    "build_invoice",
    "build_receipt",
    "community_today",
    "content_security_policy",
    "document_number",
    "issuer_from_config",
    "next_number",
    "offline_fetcher",
    "render_html",
    "render_pdf",
    "response_for",
    "take_number",
    "tax_lines",
]

INVOICE = "invoice"
RECEIPT = "receipt"
# What was received over a period (a donor's gifts of a calendar year): numbered by the caller.
STATEMENT = "statement"
KINDS = (INVOICE, RECEIPT, STATEMENT)
LANGUAGES = ("ja", "en")
INVOICE_SERIES = "INV"
RECEIPT_SERIES = "RCP"
SERIES_OF = {INVOICE: INVOICE_SERIES, RECEIPT: RECEIPT_SERIES}
# How the tax of each rate is brought to a whole minor unit, once per document: 切り捨て (the
# usual choice, and the default), 四捨五入, 切り上げ.
ROUNDINGS = ("down", "half_up", "up")
TEMPLATE = "payments/documents/document.html"
STYLESHEET = "payments/documents/document.css"

# "T" and the 13 digits the tax office gives a registered issuer (法人番号 for a corporation).
_SERIES = re.compile(r"^[A-Z][A-Z0-9]{0,7}$", re.ASCII)
# Bidirectional embeddings, overrides and isolates: not control characters to Python, yet they
# let a buyer's name show its letters in another order than they are stored (and printed next to
# an amount, that misleads).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(" {2,}")

DEFAULT_ISSUER_NAME = "Tokyo Tech Community"
# Clearly not an account anyone could pay into: a demo stands in until the community sets its own.
DEFAULT_BANK_ACCOUNT = (
    "デモ銀行（架空の口座 / Demo Bank, not a real account）\n"
    "本店営業部（001） / Head Office (001)\n"
    "普通 / Ordinary 0000000\n"
    "口座名義：トウキヨウテツクコミユニテイ（デモ）"
)
DEFAULT_DUE_DAYS = 14

# The payment methods a receipt names by key, in the document's language; any other text is
# printed as the domain gave it.
PAYMENT_METHODS = {
    "bank_transfer": _l("Bank transfer"),
    "card": _l("Credit card"),
    "cash": _l("Cash"),
}

_DAY_PATTERNS = {"ja": "y年M月d日", "en": "d MMMM y"}


# --- text ----------------------------------------------------------------------------------------


def _line_text(value: str | None) -> str:
    """A one-line field as it is printed: control characters and line breaks become spaces.
    (Not core.text.one_line, which would also turn the ideographic space of 山田　太郎 into " ".)"""
    spaced = LINE_BREAKERS.sub(" ", _BIDI_CONTROLS.sub("", value or ""))
    return _SPACES.sub(" ", spaced).strip()


def _block_text(value: str | None) -> str:
    """A multi-line field (an address, a bank account) as it is printed: its line breaks kept."""
    return _BIDI_CONTROLS.sub("", plain_text(value))


# A run this long with no place to break (a name typed without spaces, a pasted URL) is given one
# every _BREAK_EVERY characters when printed: WeasyPrint (overflow-wrap: anywhere) finds where to
# break such a run by trying place after place, so that a 10,000-letter name took it half a minute.
# Runs of Chinese characters and kana are left alone: they may break anywhere already.
_UNBROKEN_RUN = re.compile(
    r"[^\s\u200b\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]{40,}"
)
_BREAK_EVERY = 20
_ZERO_WIDTH_SPACE = "\u200b"
_ZERO_WIDTH_JOINER = "\u200d"


def breakable(text: str | None) -> str:
    """`text` with a zero-width space every 20 characters of any run of 40 or more that has no
    place to break; never inside a character's combining marks or a joined sequence. Short
    words and Japanese text are unchanged."""
    if not text:
        return ""
    return _UNBROKEN_RUN.sub(_with_breaks, text)


def _with_breaks(match: re.Match) -> str:
    pieces: list[str] = []
    since_break = 0
    previous = ""
    for character in match.group(0):
        if (
            since_break >= _BREAK_EVERY
            and not unicodedata.category(character).startswith("M")
            and _ZERO_WIDTH_JOINER not in (character, previous)
        ):
            pieces.append(_ZERO_WIDTH_SPACE)
            since_break = 0
        pieces.append(character)
        since_break += 1
        previous = character
    return "".join(pieces)


def _set(instance, name: str, value) -> None:
    # A frozen dataclass cleans its own fields once, while it is being made.
    object.__setattr__(instance, name, value)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- parties and lines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """Whom a document is for: a company (御中 in Japanese) or, with `person`, a person (様)."""

    name: str
    address: str = ""
    department: str = ""
    contact: str = ""
    person: bool = False

    def __post_init__(self) -> None:
        _set(self, "name", _line_text(self.name))
        _set(self, "address", _block_text(self.address))
        _set(self, "department", _line_text(self.department))
        _set(self, "contact", _line_text(self.contact))
        if not self.name:
            raise ValueError("a document's buyer needs a name")


@dataclass(frozen=True)
class Line:
    """One thing supplied: `quantity` × `unit_price_minor` (tax-exclusive or tax-inclusive, as the
    document says) at `tax_rate` percent; `reduced` marks the reduced rate (軽減税率, ※)."""

    description: str
    quantity: int
    unit_price_minor: int
    tax_rate: int = 10
    reduced: bool = False

    def __post_init__(self) -> None:
        _set(self, "description", _line_text(self.description))
        if not self.description:
            raise ValueError("a line needs a description")
        if not _is_int(self.quantity) or self.quantity < 1:
            raise ValueError(f"a line's quantity is a whole number from 1, not {self.quantity!r}")
        if not _is_int(self.unit_price_minor) or self.unit_price_minor < 0:
            raise ValueError(f"a unit price is whole minor units from 0: {self.unit_price_minor!r}")
        if not _is_int(self.tax_rate) or not 0 <= self.tax_rate <= 100:
            raise ValueError(f"a tax rate is a whole percent from 0 to 100: {self.tax_rate!r}")

    @property
    def amount_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class TaxLine:
    """The lines of one tax rate taken together: what the law asks a qualified invoice to show."""

    rate: int
    reduced: bool
    before_tax_minor: int
    tax_minor: int

    @property
    def including_tax_minor(self) -> int:
        return self.before_tax_minor + self.tax_minor


def _rounded(value: Fraction, rounding: str) -> int:
    if rounding == "down":
        return math.floor(value)
    if rounding == "up":
        return math.ceil(value)
    if rounding == "half_up":
        return math.floor(value + Fraction(1, 2))
    raise ValueError(f"unknown rounding {rounding!r}; use one of {', '.join(ROUNDINGS)}")


def tax_lines(
    lines: Iterable[Line], *, prices_include_tax: bool, rounding: str = "down"
) -> tuple[TaxLine, ...]:
    """The tax of each rate, computed on the sum of that rate's lines and rounded once (the
    qualified-invoice rule: rounding each line and adding would give another, wrong, tax).

    Tax-exclusive prices: tax = sum × rate / 100. Tax-inclusive: tax = sum × rate / (100 + rate),
    and the amount before tax is the sum less that tax. Exact fractions; no float anywhere.
    Standard rates come first, highest first, then reduced ones."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"unknown rounding {rounding!r}; use one of {', '.join(ROUNDINGS)}")
    sums: dict[int, int] = {}
    reduced: dict[int, bool] = {}
    for line in lines:
        if reduced.setdefault(line.tax_rate, line.reduced) != line.reduced:
            raise ValueError(f"{line.tax_rate}% is marked reduced on some lines and not on others")
        sums[line.tax_rate] = sums.get(line.tax_rate, 0) + line.amount_minor
    found = []
    for rate in sorted(sums, key=lambda rate: (reduced[rate], -rate)):
        amount = sums[rate]
        if prices_include_tax:
            tax = _rounded(Fraction(amount * rate, 100 + rate), rounding)
            found.append(TaxLine(rate, reduced[rate], amount - tax, tax))
        else:
            tax = _rounded(Fraction(amount * rate, 100), rounding)
            found.append(TaxLine(rate, reduced[rate], amount, tax))
    return tuple(found)


# --- the issuer ----------------------------------------------------------------------------------


def normalise_registration_number(value: str | None) -> str:
    """The issuer's number as configured, read as a partner's is (registration_number.py): 'T'
    and 13 digits in any width, with spaces or hyphens; '' when there is none. Anything else is
    refused: a wrong number makes every document wrong. (The corporate number's check digit is
    not asked for: a sole proprietor's number has none.)"""
    typed = (value or "").strip()
    if not typed:
        return ""
    if re.fullmatch(r"[0-9０-９]{13}", typed):
        typed = "T" + typed
    try:
        return registration_number.normalise_registration_number(typed)
    except DomainError as error:
        raise ValueError(
            f"INVOICE_REGISTRATION_NUMBER {str(value)[:40]!r} is not 'T' and 13 digits "
            "(leave it empty while the community is not registered)"
        ) from error


def normalise_rounding(value: str | None) -> str:
    rounding = (value or "down").strip().lower().replace("-", "_")
    if rounding not in ROUNDINGS:
        raise ValueError(
            f"INVOICE_TAX_ROUNDING {str(value)[:20]!r} is unknown; "
            f"use one of {', '.join(ROUNDINGS)}"
        )
    return rounding


@dataclass(frozen=True)
class Issuer:
    """Who issues the documents: the community, as configured (`issuer_from_config`).

    Without a registration number the community is not a registered qualified-invoice issuer:
    its documents say so, and they are then not qualified invoices."""

    name_en: str = DEFAULT_ISSUER_NAME
    name_ja: str = DEFAULT_ISSUER_NAME
    address: str = ""
    registration_number: str = ""
    bank_account: str = DEFAULT_BANK_ACCOUNT
    tax_rounding: str = "down"
    due_days: int = DEFAULT_DUE_DAYS

    def __post_init__(self) -> None:
        _set(self, "name_en", _line_text(self.name_en) or DEFAULT_ISSUER_NAME)
        _set(self, "name_ja", _line_text(self.name_ja) or self.name_en)
        _set(self, "address", _block_text(self.address))
        _set(self, "registration_number", normalise_registration_number(self.registration_number))
        _set(self, "bank_account", _block_text(self.bank_account))
        _set(self, "tax_rounding", normalise_rounding(self.tax_rounding))
        if not _is_int(self.due_days) or self.due_days < 0:
            raise ValueError(f"INVOICE_DUE_DAYS is a whole number of days: {self.due_days!r}")

    @property
    def registered(self) -> bool:
        return bool(self.registration_number)

    def name(self, language: str) -> str:
        return self.name_ja if language == "ja" else self.name_en

    def due_on(self, issued_on: date) -> date:
        return issued_on + timedelta(days=self.due_days)


def issuer_from_config(config: Mapping) -> Issuer:
    """The issuer as the app's configuration (INVOICE_* keys) describes it; defaults where unset.
    A malformed registration number, rounding or number of days is refused (ValueError)."""
    name_en = config.get("INVOICE_ISSUER_NAME") or DEFAULT_ISSUER_NAME
    due_days = config.get("INVOICE_DUE_DAYS")
    if due_days in (None, ""):
        due_days = DEFAULT_DUE_DAYS
    elif isinstance(due_days, str):
        try:
            due_days = int(due_days.strip())
        except ValueError as error:
            raise ValueError(f"INVOICE_DUE_DAYS {due_days[:20]!r} is not a number") from error
    return Issuer(
        name_en=name_en,
        name_ja=config.get("INVOICE_ISSUER_NAME_JA") or name_en,
        address=config.get("INVOICE_ISSUER_ADDRESS") or "",
        registration_number=config.get("INVOICE_REGISTRATION_NUMBER") or "",
        bank_account=config.get("INVOICE_BANK_ACCOUNT") or DEFAULT_BANK_ACCOUNT,
        tax_rounding=config.get("INVOICE_TAX_ROUNDING") or "down",
        due_days=due_days,
    )


# --- the document --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One invoice or receipt, complete: everything it prints, nothing it must look up.

    An invoice asks for a bank transfer: it has `due_on` and `bank_account`. A receipt says money
    was received: it has `paid_on` and `payment_method` (a key of PAYMENT_METHODS, or text), and
    `received_for` is its 但し line (by default, what its first line supplied). Prices are
    tax-exclusive unless `prices_include_tax`; the tax is the issuer's rounding of each rate's
    sum. `build_invoice` and `build_receipt` fill in what the issuer's configuration decides."""

    kind: str
    number: str
    language: str
    issued_on: date
    supplied_on: date
    currency: str
    issuer: Issuer
    buyer: Party
    lines: tuple[Line, ...]
    prices_include_tax: bool = False
    due_on: date | None = None
    bank_account: str | None = None
    paid_on: date | None = None
    payment_method: str | None = None
    received_for: str = ""
    note: str = ""
    # A statement's period (both days included).
    period_start: date | None = None
    period_end: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a document is an invoice or a receipt, not {self.kind!r}")
        if self.language not in LANGUAGES:
            raise ValueError(f"a document is in {' or '.join(LANGUAGES)}, not {self.language!r}")
        if not is_known_currency(self.currency):
            raise ValueError(f"unknown currency {self.currency!r}")
        _set(self, "currency", self.currency.upper())
        _set(self, "number", _line_text(self.number))
        if not self.number:
            raise ValueError("a document needs its number")
        _set(self, "lines", tuple(self.lines))
        if not self.lines or not all(isinstance(line, Line) for line in self.lines):
            raise ValueError("a document needs at least one Line")
        _set(self, "bank_account", _block_text(self.bank_account) or None)
        _set(self, "payment_method", _line_text(self.payment_method) or None)
        _set(self, "received_for", _line_text(self.received_for))
        _set(self, "note", _block_text(self.note))
        if self.kind == STATEMENT:
            if self.period_start is None or self.period_end is None:
                raise ValueError("a statement needs the first and last day of its period")
            if self.period_start > self.period_end:
                raise ValueError("a statement's period cannot end before it starts")
            if self.issued_on < self.period_start:
                raise ValueError("a statement cannot be issued before its period starts")
            if not self.payment_method:
                raise ValueError("a statement needs how the money was paid")
        elif self.kind == INVOICE:
            if self.due_on is None or not self.bank_account:
                raise ValueError("an invoice needs its due date and the bank account to pay into")
            if self.due_on < self.issued_on:
                raise ValueError("an invoice cannot be due before it is issued")
        else:
            if self.paid_on is None or not self.payment_method:
                raise ValueError("a receipt needs the day of payment and how it was paid")
            if self.paid_on > self.issued_on:
                raise ValueError("a receipt cannot be issued before the money arrived")
        self.tax_lines  # noqa: B018 (refuse an inconsistent reduced rate now, not when printed)

    @cached_property
    def tax_lines(self) -> tuple[TaxLine, ...]:
        return tax_lines(
            self.lines,
            prices_include_tax=self.prices_include_tax,
            rounding=self.issuer.tax_rounding,
        )

    @property
    def before_tax_minor(self) -> int:
        return sum(line.before_tax_minor for line in self.tax_lines)

    @property
    def tax_minor(self) -> int:
        return sum(line.tax_minor for line in self.tax_lines)

    @property
    def total_minor(self) -> int:
        return sum(line.including_tax_minor for line in self.tax_lines)

    @property
    def has_reduced_rate(self) -> bool:
        return any(line.reduced for line in self.lines)

    @property
    def is_untaxed(self) -> bool:
        """Every line outside consumption tax (gifts): no tax to show."""
        return all(line.tax_rate == 0 for line in self.lines)

    @property
    def is_qualified_invoice(self) -> bool:
        return self.issuer.registered


def build_invoice(
    *,
    number: str,
    issuer: Issuer,
    buyer: Party,
    lines: Iterable[Line],
    currency: str,
    language: str,
    issued_on: date,
    supplied_on: date,
    prices_include_tax: bool = False,
    due_on: date | None = None,
    note: str = "",
) -> Document:
    """An invoice for a bank transfer into the issuer's account, due `due_on` (by default
    INVOICE_DUE_DAYS after it is issued)."""
    return Document(
        kind=INVOICE,
        number=number,
        language=language,
        issued_on=issued_on,
        supplied_on=supplied_on,
        currency=currency,
        issuer=issuer,
        buyer=buyer,
        lines=tuple(lines),
        prices_include_tax=prices_include_tax,
        due_on=due_on or issuer.due_on(issued_on),
        bank_account=issuer.bank_account,
        note=note,
    )


def build_receipt(
    *,
    number: str,
    issuer: Issuer,
    buyer: Party,
    lines: Iterable[Line],
    currency: str,
    language: str,
    issued_on: date,
    supplied_on: date,
    paid_on: date,
    payment_method: str,
    prices_include_tax: bool = False,
    received_for: str = "",
    note: str = "",
) -> Document:
    """A receipt for money received on `paid_on` by `payment_method`."""
    return Document(
        kind=RECEIPT,
        number=number,
        language=language,
        issued_on=issued_on,
        supplied_on=supplied_on,
        currency=currency,
        issuer=issuer,
        buyer=buyer,
        lines=tuple(lines),
        prices_include_tax=prices_include_tax,
        paid_on=paid_on,
        payment_method=payment_method,
        received_for=received_for,
        note=note,
    )


def build_statement(
    *,
    number: str,
    issuer: Issuer,
    buyer: Party,
    lines: Iterable[Line],
    currency: str,
    language: str,
    issued_on: date,
    period_start: date,
    period_end: date,
    payment_method: str = "card",
    received_for: str = "",
    note: str = "",
) -> Document:
    """A statement of what was received from `buyer` from `period_start` to `period_end`, one
    line for each payment (its day in the description)."""
    lines = tuple(lines)
    return Document(
        kind=STATEMENT,
        number=number,
        language=language,
        issued_on=issued_on,
        supplied_on=period_end,
        currency=currency,
        issuer=issuer,
        buyer=buyer,
        lines=lines,
        prices_include_tax=True,
        paid_on=period_end,
        payment_method=payment_method,
        received_for=received_for,
        note=note,
        period_start=period_start,
        period_end=period_end,
    )


# --- numbers -------------------------------------------------------------------------------------


class DocumentNumber(db.Model):
    """The last number given in a series (INV, RCP) in a year; the next is taken by writing."""

    __tablename__ = "document_numbers"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)

    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


def _check_series(series: str, year: int) -> None:
    if not isinstance(series, str) or not _SERIES.match(series):
        raise ValueError(f"a series is up to 8 capital letters or digits, not {series!r}")
    if not _is_int(year) or not 1 <= year <= 9999:
        raise ValueError(f"not a year: {year!r}")


def next_number(series: str, year: int) -> int:
    """The next number of `series` in `year` (1, 2, 3, … restarting each year), taken inside the
    caller's write transaction: it is the caller's only if that transaction commits, and given
    again if it rolls back, so that the numbers have no gaps and no duplicates.

    The counter's row is incremented by an UPDATE … RETURNING, which is also its lock: a second
    transaction waits for the first to end and then reads the number it left. The first number
    of a year inserts the row; when two transactions do that at once the primary key refuses one,
    whose savepoint rolls back and which then increments the row the other made."""
    _check_series(series, year)
    if current_unit() is None:
        raise RuntimeError("next_number runs inside the caller's write_transaction()")
    increment = (
        update(DocumentNumber)
        .where(DocumentNumber.series == series, DocumentNumber.year == year)
        .values(last_number=DocumentNumber.last_number + 1)
        .returning(DocumentNumber.last_number)
        .execution_options(synchronize_session=False)
    )
    number = db.session.execute(increment).scalar_one_or_none()
    if number is not None:
        return number
    try:
        with write_transaction():  # a savepoint: the primary key's refusal is not the caller's
            db.session.execute(
                insert(DocumentNumber).values(series=series, year=year, last_number=1)
            )
    except IntegrityError:
        return db.session.execute(increment).scalar_one()
    return 1


def document_number(series: str, year: int, number: int) -> str:
    """'INV-2026-0007': four digits at least, more once a year passes 9999 documents."""
    _check_series(series, year)
    if not _is_int(number) or number < 1:
        raise ValueError(f"a document's number counts from 1, not {number!r}")
    return f"{series}-{year}-{number:04d}"


def community_today() -> date:
    """Today in the community's zone (DEFAULT_TIMEZONE): the day documents are issued on, whose
    year their number counts in (a document issued at 08:00 on 1 January in Tokyo is the new
    year's, though it is still the old year in UTC)."""
    return utcnow().astimezone(zone()).date()


def take_number(series: str, issued_on: date) -> str:
    """The next number of `series` for a document issued on `issued_on` (inside the caller's
    write transaction, as for `next_number`): 'INV-2026-0007'."""
    return document_number(series, issued_on.year, next_number(series, issued_on.year))


# --- rendering -----------------------------------------------------------------------------------


def _stylesheet() -> str:
    return current_app.jinja_env.get_template(STYLESHEET).render()


def content_security_policy() -> str:
    """The Content-Security-Policy for serving `render_html`'s page: the site's own policy
    refuses inline styles, and the page's one style element is allowed by its hash; nothing
    else may load, run or be submitted."""
    digest = b64encode(sha256(_stylesheet().encode()).digest()).decode()
    return "; ".join(
        [
            "default-src 'none'",
            f"style-src 'sha256-{digest}'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _day(value: date | None, language: str) -> str:
    if value is None:
        return ""
    return format_date(value, _DAY_PATTERNS[language], locale=language)


def _payment_method(document: Document) -> str:
    method = document.payment_method or ""
    known = PAYMENT_METHODS.get(method)
    return str(known) if known is not None else method


def render_html(document: Document) -> str:
    """The document as a complete, standalone HTML page (its style inline, A4 when printed), in
    the document's language whatever the reader's. Serve it with `content_security_policy()`."""
    language = document.language
    with force_locale(language):
        template = current_app.jinja_env.get_template(TEMPLATE)
        return template.render(
            document=document,
            issuer_name=document.issuer.name(language),
            money=lambda amount_minor: format_money(amount_minor, document.currency, language),
            day=lambda value: _day(value, language),
            wrap=breakable,
            payment_method=_payment_method(document),
            stylesheet=Markup(_stylesheet()),  # noqa: S704 (our own file, not anyone's input)
        )


def render_pdf(document: Document) -> bytes:
    """The PDF of `render_html`'s page (A4, Noto Sans CJK from the system's fonts).

    Nothing is fetched: the page's style is inline and the fetcher refuses every URL but data:,
    so that no text in a document can make the renderer reach a server or read a file."""
    # Imported here: WeasyPrint loads Pango when imported, which only a PDF needs.
    from weasyprint import HTML

    # Its progress (seven lines a PDF) is not news for the log.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

    html = HTML(string=render_html(document), base_url=None, url_fetcher=offline_fetcher())
    return html.write_pdf()


def offline_fetcher():
    """WeasyPrint's URL fetcher, refusing every URL but data: (no http, no file)."""
    # Imported here for the same reason as in render_pdf: only a PDF needs Pango loaded.
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), allow_redirects=False, timeout=1)


def response_for(document: Document, *, pdf: bool) -> Response:
    """The document as a private answer: its PDF to download, or its printable page (which may
    load nothing but its own style)."""
    private = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    if pdf:
        return Response(
            render_pdf(document),
            mimetype="application/pdf",
            headers={
                **private,
                "Content-Disposition": f'attachment; filename="{document.number}.pdf"',
            },
        )
    return Response(
        render_html(document),
        mimetype="text/html",
        headers={**private, "Content-Security-Policy": content_security_policy()},
    )
