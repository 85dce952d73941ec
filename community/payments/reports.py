"""The orders back office's queries: the filtered list (one page of it), the totals by purpose,
month and currency, the CSV export, and one order with what happened to it.

Every query is limited to the orders the viewer may see (`visibility.visible_orders`), so a list,
a total or an export never shows another event's money. Totals are summed by the database
(GROUP BY), one row per purpose, month and currency: amounts in different currencies are never
added up. Months and date filters are read in DEFAULT_TIMEZONE. Nothing here writes.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import selectinload

from community.core.dates import zone
from community.core.db import db
from community.core.money import format_money
from community.core.pagination import Page, page_number
from community.core.text import SEARCH_MAX, contains_pattern, search_term, spreadsheet_cell
from community.payments.models import ORDER_STATUSES, Order, WebhookEvent
from community.payments.visibility import purpose_label, registered_purposes, visible_orders

if TYPE_CHECKING:
    from community.accounts.models import User

PER_PAGE = 50
# Orders that took money: their amounts count in the totals (minus what went back).
MONEY_STATUSES = ("paid", "partially_refunded", "refunded")

# The words for each status, on the orders pages and in the export (in the reader's language).
ORDER_STATUS_LABELS = {
    "pending": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "expired": _l("Expired"),
    "failed": _l("Failed"),
    "refunded": _l("Refunded"),
    "partially_refunded": _l("Partly refunded"),
}

_PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Outside these years a local midnight may not convert to UTC (datetime's range is years 1-9999).
_FIRST_YEAR, _LAST_YEAR = 1970, 9998

__all__ = [
    "MONEY_STATUSES",
    "ORDER_STATUS_LABELS",
    "PER_PAGE",
    "MonthTotal",
    "OrderFilters",
    "OrderPage",
    "list_orders",
    "order_purposes",
    "orders_csv",
    "totals_by_month",
    "visible_order",
    "webhook_events_of",
]


# --- filters -------------------------------------------------------------------------------------


def clean_text(text: str | None) -> str:
    """Text as typed, without control characters (a NUL would be refused by PostgreSQL)."""
    return search_term(text)


def _parse_date(text: str | None) -> tuple[date | None, bool]:
    """(the date, whether the text was understood); an empty text is no date and no problem."""
    text = (text or "").strip()
    if not text:
        return None, True
    if not _ISO_DATE.match(text):
        return None, False
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None, False
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        return None, False
    return value, True


@dataclass(frozen=True)
class OrderFilters:
    purpose: str | None = None
    status: str | None = None
    created_from: date | None = None
    # Inclusive: the whole day counts.
    created_to: date | None = None
    search: str = ""
    page: int = 1
    # What was sent but not understood, and ignored: shown on the page.
    problems: tuple[str | LazyString, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args, known_purposes: list[str] = ()) -> OrderFilters:
        problems: list[str | LazyString] = []

        purpose = clean_text(args.get("purpose")) or None
        known = set(known_purposes) | set(registered_purposes())
        if purpose is not None and not (_PURPOSE.match(purpose) and purpose in known):
            problems.append(_l("The purpose you chose is unknown: it is ignored."))
            purpose = None

        status = clean_text(args.get("status")) or None
        if status is not None and status not in ORDER_STATUSES:
            problems.append(_l("The status you chose is unknown: it is ignored."))
            status = None

        created_from, understood = _parse_date(args.get("from"))
        if not understood:
            problems.append(_l("The start date is not a date (YYYY-MM-DD): it is ignored."))
        created_to, understood = _parse_date(args.get("to"))
        if not understood:
            problems.append(_l("The end date is not a date (YYYY-MM-DD): it is ignored."))
        if created_from and created_to and created_from > created_to:
            problems.append(_l("The start date is after the end date: no order can match."))

        return cls(
            purpose=purpose,
            status=status,
            created_from=created_from,
            created_to=created_to,
            search=clean_text(args.get("q"))[:SEARCH_MAX],
            page=page_number(args.get("page")),
            problems=tuple(problems),
        )

    def query_args(self) -> dict[str, str]:
        """The filters as query arguments (without the page), for links and the CSV export."""
        args = {
            "purpose": self.purpose,
            "status": self.status,
            "from": self.created_from.isoformat() if self.created_from else None,
            "to": self.created_to.isoformat() if self.created_to else None,
            "q": self.search,
        }
        return {name: value for name, value in args.items() if value}

    def conditions(self, viewer: User) -> list[ColumnElement[bool]]:
        """SQL conditions on `Order`: what the viewer may see, narrowed by these filters."""
        conditions = [visible_orders(viewer)]
        if self.purpose:
            conditions.append(Order.purpose == self.purpose)
        if self.status:
            conditions.append(Order.status == self.status)
        if self.created_from:
            conditions.append(Order.created_at >= _local_midnight(self.created_from))
        if self.created_to and self.created_to < date(_LAST_YEAR, 12, 31):
            conditions.append(Order.created_at < _local_midnight(self.created_to + timedelta(1)))
        if self.search:
            conditions.append(
                func.lower(Order.buyer_email).like(contains_pattern(self.search), escape="\\")
            )
        return conditions


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone())


# --- the list ------------------------------------------------------------------------------------


# One page of the list (core/pagination.Page).
OrderPage = Page


def order_purposes(viewer: User) -> list[str]:
    """The purposes of the orders the viewer may see, and those a domain registered."""
    found = db.session.scalars(select(Order.purpose).where(visible_orders(viewer)).distinct())
    return sorted(set(found) | set(registered_purposes()))


def list_orders(viewer: User, filters: OrderFilters, per_page: int = PER_PAGE) -> OrderPage:
    """One page of the filtered orders, newest first: two queries (a count, the page)."""
    conditions = filters.conditions(viewer)
    total = db.session.scalar(select(func.count(Order.id)).where(*conditions)) or 0
    # A page past the end shows the last one (and no huge OFFSET reaches the database).
    number = min(filters.page, max((total + per_page - 1) // per_page, 1))
    items = db.session.scalars(
        select(Order)
        .where(*conditions)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(per_page)
        .offset((number - 1) * per_page)
    )
    return OrderPage(list(items), number, per_page, total)


# --- totals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthTotal:
    purpose: str
    month: str  # "2026-05", in DEFAULT_TIMEZONE
    currency: str
    orders: int
    gross_minor: int
    refunded_minor: int

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.refunded_minor


def _months_between(first: datetime, last: datetime) -> list[tuple[str, datetime]]:
    """Each local month from `first`'s to `last`'s: (YYYY-MM, its first instant), oldest first."""
    tz = zone()
    start, end = first.astimezone(tz), last.astimezone(tz)
    year, month = start.year, start.month
    months = []
    while (year, month) <= (end.year, end.month):
        months.append((f"{year:04d}-{month:02d}", datetime(year, month, 1, tzinfo=tz)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _month_of_created_at(first: datetime, last: datetime) -> ColumnElement[str]:
    """A SQL expression: the local month an order was placed in, for both SQLite (which has no
    time zones) and PostgreSQL. Built from the month boundaries in UTC, so that a zone with
    summer time is right too."""
    months = _months_between(first, last)
    if len(months) == 1:
        return literal(months[0][0])
    whens = [(Order.created_at >= starts, label) for label, starts in reversed(months[1:])]
    return case(*whens, else_=literal(months[0][0]))


def totals_by_month(viewer: User, filters: OrderFilters) -> list[MonthTotal]:
    """Gross, refunded and net amounts of the filtered orders that took money, per purpose, local
    month (of the order's creation, as the date filters) and currency; newest month first.

    Two queries: the date span (to know the months), then the sums, grouped by the database.
    """
    conditions = [*filters.conditions(viewer), Order.status.in_(MONEY_STATUSES)]
    first, last = db.session.execute(
        select(func.min(Order.created_at), func.max(Order.created_at)).where(*conditions)
    ).one()
    if first is None:
        return []
    # Grouped in an outer query: PostgreSQL would not match a CASE with bound parameters in the
    # select list to the "same" CASE in GROUP BY (each gets parameters of its own).
    rows_by_month = (
        select(
            Order.purpose.label("purpose"),
            _month_of_created_at(first, last).label("month"),
            Order.currency.label("currency"),
            Order.amount_minor.label("amount_minor"),
            Order.refunded_minor.label("refunded_minor"),
        )
        .where(*conditions)
        .subquery()
    )
    sums = db.session.execute(
        select(
            rows_by_month.c.purpose,
            rows_by_month.c.month,
            rows_by_month.c.currency,
            func.count(),
            func.sum(rows_by_month.c.amount_minor),
            func.sum(rows_by_month.c.refunded_minor),
        )
        .group_by(rows_by_month.c.purpose, rows_by_month.c.month, rows_by_month.c.currency)
        .order_by(rows_by_month.c.month.desc(), rows_by_month.c.purpose, rows_by_month.c.currency)
    )
    return [
        MonthTotal(purpose, month, currency, count, int(gross or 0), int(refunded or 0))
        for purpose, month, currency, count, gross, refunded in sums
    ]


# --- one order -----------------------------------------------------------------------------------


def visible_order(viewer: User, order_id: int) -> Order | None:
    """The order with its payments and refunds, or None if there is none the viewer may see
    (the same answer either way, so that the page does not reveal that it exists)."""
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id, visible_orders(viewer))
        .options(selectinload(Order.payments), selectinload(Order.refunds))
    )


def webhook_events_of(order: Order) -> list[WebhookEvent]:
    return list(
        db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.order_id == order.id)
            .order_by(WebhookEvent.received_at, WebhookEvent.id)
        )
    )


# --- the CSV export ------------------------------------------------------------------------------


def orders_csv(viewer: User, filters: OrderFilters, language: str) -> bytes:
    """Every filtered order (not only one page), newest first, in the viewer's `language`.

    UTF-8 with a BOM and CRLF line ends: Excel in Japanese opens it with the right characters.
    Amounts are plain integers in the currency's minor unit (¥3,000 is 3000, $12.34 is 1234) next
    to the currency code, for sums; a formatted column is for reading. Statuses and purposes are
    the words the pages show. Times are local (DEFAULT_TIMEZONE, named in the header) as
    YYYY-MM-DD HH:MM, which spreadsheets read as dates.
    """
    with force_locale(language):
        return _orders_csv(viewer, filters, language)


def _orders_csv(viewer: User, filters: OrderFilters, language: str) -> bytes:
    tz = zone()
    zone_name = str(tz.key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            str(_l("Order")),
            str(_l("Placed (%(zone)s)", zone=zone_name)),
            str(_l("Paid (%(zone)s)", zone=zone_name)),
            str(_l("Purpose")),
            str(_l("Reference")),
            str(_l("Description")),
            str(_l("E-mail address")),
            str(_l("Status")),
            str(_l("Currency")),
            str(_l("Amount (minor units)")),
            str(_l("Refunded (minor units)")),
            str(_l("Net (minor units)")),
            str(_l("Amount")),
            str(_l("Net")),
        ]
    )
    rows = db.session.execute(
        select(
            Order.id,
            Order.created_at,
            Order.paid_at,
            Order.purpose,
            Order.reference,
            Order.description,
            Order.buyer_email,
            Order.status,
            Order.currency,
            Order.amount_minor,
            Order.refunded_minor,
        )
        .where(*filters.conditions(viewer))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    for row in rows:
        net = row.amount_minor - row.refunded_minor
        writer.writerow(
            [
                row.id,
                _local(row.created_at, tz),
                _local(row.paid_at, tz),
                spreadsheet_cell(purpose_label(row.purpose)),
                spreadsheet_cell(row.reference),
                spreadsheet_cell(row.description),
                spreadsheet_cell(row.buyer_email),
                str(ORDER_STATUS_LABELS.get(row.status, row.status)),
                row.currency,
                row.amount_minor,
                row.refunded_minor,
                net,
                format_money(row.amount_minor, row.currency, language),
                format_money(net, row.currency, language),
            ]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _local(moment: datetime | None, tz) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""
