"""What the organisers' membership pages read: the filtered list of memberships (a page of it,
and all of it for the CSV export), one person's memberships with their history and payments,
and the figures of the reports page (joins and lapses by month, revenue by plan, members now,
renewals to come). Nothing here writes.

Each figure is counted by the database (GROUP BY) in one query, whatever the number of
members, and every list loads what it shows in the same query or one more (no query per row).
Months are the community's (DEFAULT_TIMEZONE); amounts in different currencies are never added
up.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from community.accounts.models import User
from community.core.dates import recent_months, zone
from community.core.db import db, utcnow
from community.core.pagination import Page, page_number
from community.core.text import SEARCH_MAX, contains_pattern, search_term, spreadsheet_cell
from community.core.urls import MAX_ID
from community.membership.models import (
    BENEFITING,
    STATUSES,
    Membership,
    MembershipEvent,
    MembershipPlan,
)
from community.payments.models import Order

PER_PAGE = 50
# The reports page's window: this many months back, this month included.
MONTHS = 12
# Renewals shown on the reports page: those whose term ends within this.
UPCOMING = timedelta(days=60)
UPCOMING_SHOWN = 200
PURPOSE = "membership"

# A membership's status in words, on the pages and in the export. "Cancelled" alone is an event
# called off (中止) in the catalog: a membership cut short before its end says so.
STATUS_LABELS: dict[str, LazyString] = {
    "pending": _l("Waiting for the payment"),
    "active": _l("Active"),
    "past_due": _l("Renewal payment failed"),
    "in_grace": _l("Ended: in the grace period"),
    "expired": _l("Expired"),
    "cancelled": _l("Cancelled (ended early)"),
    "abandoned": _l("Not completed"),
}
# One step of a membership's history, in words.
HISTORY_LABELS: dict[str, LazyString] = {
    "joined": _l("Joined"),
    "renewed": _l("Renewed"),
    "past_due": _l("Renewal payment failed"),
    "recovered": _l("Renewal paid after a failure"),
    "in_grace": _l("Grace period began"),
    "expired": _l("Expired"),
    "cancelled": _l("Cancelled (ended early)"),
    "abandoned": _l("Join not completed"),
    "refunded": _l("Refunded"),
    "auto_renew_off": _l("Automatic renewal stopped"),
    "auto_renew_on": _l("Automatic renewal resumed"),
    "plan_changed": _l("Plan changed"),
}
# What ends a membership: a lapse, on the reports page.
LAPSES = ("expired", "cancelled")


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def renews_itself(membership: Membership) -> bool:
    return membership.renewal == "subscription" and bool(membership.auto_renew)


# --- the list of memberships ---------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFilters:
    plan_id: int | None = None
    status: str | None = None
    search: str = ""
    page: int = 1
    # What was sent but not understood, and ignored: shown on the page.
    problems: tuple[str | LazyString, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args, plan_ids) -> MemberFilters:
        problems: list[str | LazyString] = []
        plan_text = search_term(args.get("plan"))
        plan_id = None
        if plan_text:
            number = int(plan_text) if plan_text.isascii() and plan_text.isdigit() else None
            if number is not None and 0 < number <= MAX_ID and number in plan_ids:
                plan_id = number
            else:
                problems.append(_l("The plan you chose is unknown: it is ignored."))
        status = search_term(args.get("status")) or None
        if status is not None and status not in STATUSES:
            problems.append(_l("The status you chose is unknown: it is ignored."))
            status = None
        return cls(
            plan_id=plan_id,
            status=status,
            search=search_term(args.get("q"))[:SEARCH_MAX],
            page=page_number(args.get("page")),
            problems=tuple(problems),
        )

    def query_args(self) -> dict[str, str]:
        """The filters as query arguments (without the page), for links and the export."""
        args = {
            "plan": str(self.plan_id) if self.plan_id else None,
            "status": self.status,
            "q": self.search,
        }
        return {name: value for name, value in args.items() if value}

    def conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on Membership joined to its User."""
        conditions = []
        if self.plan_id:
            conditions.append(Membership.plan_id == self.plan_id)
        if self.status:
            conditions.append(Membership.status == self.status)
        if self.search:
            pattern = contains_pattern(self.search)
            conditions.append(
                or_(
                    func.lower(User.name).like(pattern, escape="\\"),
                    User.email.like(pattern, escape="\\"),
                )
            )
        return conditions


# One page of the list (core/pagination.Page).
MemberPage = Page


def _memberships(conditions):
    """Memberships with their person and plan, loaded in the same query, newest first."""
    return (
        select(Membership)
        .join(Membership.user)
        .join(Membership.plan)
        .options(contains_eager(Membership.user), contains_eager(Membership.plan))
        .where(*conditions)
        .order_by(Membership.created_at.desc(), Membership.id.desc())
    )


def list_memberships(filters: MemberFilters, per_page: int | None = None) -> MemberPage:
    """One page of the filtered memberships: two queries (a count, the page)."""
    per_page = per_page or PER_PAGE
    conditions = filters.conditions()
    total = (
        db.session.scalar(
            select(func.count(Membership.id)).join(Membership.user).where(*conditions)
        )
        or 0
    )
    # A page past the end shows the last one (and no huge OFFSET reaches the database).
    number = min(filters.page, max((total + per_page - 1) // per_page, 1))
    items = db.session.scalars(
        _memberships(conditions).limit(per_page).offset((number - 1) * per_page)
    )
    return MemberPage(list(items.unique()), number, per_page, total)


def all_plans() -> list[MembershipPlan]:
    """Every plan, offered or retired, with what it gives (two queries)."""
    return list(
        db.session.scalars(
            select(MembershipPlan)
            .options(selectinload(MembershipPlan.benefit_rows))
            .order_by(MembershipPlan.position, MembershipPlan.price_minor, MembershipPlan.id)
        )
    )


# --- the CSV export ------------------------------------------------------------------------------


def members_csv(filters: MemberFilters, language: str) -> bytes:
    """Every filtered membership (not only one page), newest first, in the reader's `language`.

    UTF-8 with a BOM and CRLF line ends, so that Excel in Japanese reads it. Days and times are
    the community's (named in the header); what people typed goes through spreadsheet_cell.
    """
    with force_locale(language):
        return _members_csv(filters)


def _members_csv(filters: MemberFilters) -> bytes:
    tz = zone()
    zone_name = str(tz.key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            str(_l("Name")),
            str(_l("E-mail address")),
            str(_l("Plan")),
            str(_l("Status")),
            str(_l("Starts (%(zone)s)", zone=zone_name)),
            str(_l("Ends (%(zone)s)", zone=zone_name)),
            str(_l("Renews itself")),
            str(_l("Joined at (%(zone)s)", zone=zone_name)),
        ]
    )
    yes, no = str(_l("Yes")), str(_l("No"))
    for membership in db.session.scalars(_memberships(filters.conditions())).unique():
        writer.writerow(
            [
                spreadsheet_cell(membership.user.name or ""),
                spreadsheet_cell(membership.user.email),
                spreadsheet_cell(membership.plan.name),
                status_label(membership.status),
                _local_day(membership.starts_at, tz),
                _local_day(membership.ends_at, tz),
                yes if renews_itself(membership) else no,
                _local_time(membership.created_at, tz),
            ]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _local_day(moment: datetime | None, tz) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d") if moment else ""


def _local_time(moment: datetime | None, tz) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


# --- one person ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRecord:
    user: User
    memberships: list[Membership]
    orders: list[Order]


def member_record(user_id: int) -> MemberRecord | None:
    """A person's memberships, newest first, each with its history (and each step's plan), and
    their membership orders with their payments; None for an id that holds no membership (the
    page is about members, not a list of accounts)."""
    if not 0 < user_id <= MAX_ID:
        return None
    user = db.session.get(User, user_id)
    if user is None:
        return None
    memberships = list(
        db.session.scalars(
            select(Membership)
            .where(Membership.user_id == user_id)
            .options(
                selectinload(Membership.plan),
                selectinload(Membership.history).selectinload(MembershipEvent.plan),
            )
            .order_by(Membership.created_at.desc(), Membership.id.desc())
        )
    )
    if not memberships:
        return None
    orders = list(
        db.session.scalars(
            select(Order)
            .where(Order.purpose == PURPOSE, Order.buyer_user_id == user_id)
            .options(selectinload(Order.payments))
            .order_by(Order.created_at.desc(), Order.id.desc())
        )
    )
    return MemberRecord(user, memberships, orders)


# --- the reports page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    month: str  # "2026-05", in DEFAULT_TIMEZONE
    joins: int
    lapses: int


def joins_and_lapses(moment: datetime | None = None) -> list[MonthFigures]:
    """Memberships begun (joined) and ended (expired or cut short) in each of the last MONTHS
    local months, this one included, oldest first; months without any say 0. One query."""
    months = recent_months(moment or utcnow(), MONTHS)
    # The month of a step, as a CASE on the months' first instants in UTC: SQLite has no time
    # zones, and a zone with summer time is right too.
    month_of = case(
        *[(MembershipEvent.at >= starts, label) for label, starts in reversed(months[1:])],
        else_=literal(months[0][0]),
    )
    steps = (
        select(
            month_of.label("month"),
            case((MembershipEvent.kind == "joined", 1), else_=0).label("joined"),
            case((MembershipEvent.kind.in_(LAPSES), 1), else_=0).label("lapsed"),
        )
        .where(
            MembershipEvent.at >= months[0][1],
            MembershipEvent.kind.in_(("joined", *LAPSES)),
        )
        .subquery()
    )
    # Grouped in an outer query: PostgreSQL would not match a CASE with bound parameters in the
    # select list to the "same" CASE in GROUP BY.
    counted = {
        month: (int(joins or 0), int(lapses or 0))
        for month, joins, lapses in db.session.execute(
            select(steps.c.month, func.sum(steps.c.joined), func.sum(steps.c.lapsed)).group_by(
                steps.c.month
            )
        )
    }
    return [MonthFigures(label, *counted.get(label, (0, 0))) for label, _ in months]


@dataclass(frozen=True)
class PlanRevenue:
    plan: MembershipPlan
    currency: str
    payments: int
    received_minor: int
    refunded_minor: int  # a positive number: what went back

    @property
    def net_minor(self) -> int:
        return self.received_minor - self.refunded_minor


def revenue_by_plan() -> list[PlanRevenue]:
    """Money in (joins, renewals) and back (refunds) per plan and currency, from the history:
    one query."""
    amount = MembershipEvent.amount_minor
    rows = db.session.execute(
        select(
            MembershipPlan,
            MembershipEvent.currency,
            func.sum(case((amount > 0, 1), else_=0)),
            func.sum(case((amount > 0, amount), else_=0)),
            func.sum(case((amount < 0, -amount), else_=0)),
        )
        .join(MembershipPlan, MembershipPlan.id == MembershipEvent.plan_id)
        .where(amount.is_not(None), amount != 0)
        .group_by(MembershipPlan.id, MembershipEvent.currency)
        .order_by(MembershipPlan.position, MembershipPlan.id, MembershipEvent.currency)
    ).all()
    return [
        PlanRevenue(plan, currency, int(count or 0), int(received or 0), int(refunded or 0))
        for plan, currency, count, received, refunded in rows
    ]


@dataclass(frozen=True)
class PlanCounts:
    plan: MembershipPlan
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def members_now(moment: datetime | None = None) -> list[PlanCounts]:
    """The members now (whose membership gives its benefits: active, past due or in grace, its
    grace not over) by plan and status: one query."""
    moment = moment or utcnow()
    rows = db.session.execute(
        select(MembershipPlan, Membership.status, func.count(Membership.id))
        .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
        .where(Membership.status.in_(BENEFITING), Membership.grace_ends_at > moment)
        .group_by(MembershipPlan.id, Membership.status)
        .order_by(MembershipPlan.position, MembershipPlan.id)
    ).all()
    by_plan: dict[int, PlanCounts] = {}
    for plan, status, count in rows:
        counts = by_plan.setdefault(plan.id, PlanCounts(plan, dict.fromkeys(BENEFITING, 0)))
        counts.by_status[status] = int(count)
    return list(by_plan.values())


@dataclass(frozen=True)
class Renewals:
    memberships: list[Membership]
    total: int
    renewing_themselves: int

    @property
    def by_hand(self) -> int:
        return self.total - self.renewing_themselves


def upcoming_renewals(moment: datetime | None = None, limit: int = UPCOMING_SHOWN) -> Renewals:
    """The memberships held whose term ends within UPCOMING, soonest first (at most `limit`
    of them), with how many there are and how many renew themselves: two queries."""
    moment = moment or utcnow()
    conditions = [
        Membership.status.in_(BENEFITING),
        Membership.ends_at >= moment,
        Membership.ends_at < moment + UPCOMING,
    ]
    itself = and_(Membership.renewal == "subscription", Membership.auto_renew.is_(True))
    total, renewing = db.session.execute(
        select(func.count(Membership.id), func.sum(case((itself, 1), else_=0))).where(*conditions)
    ).one()
    memberships = db.session.scalars(
        select(Membership)
        .join(Membership.user)
        .join(Membership.plan)
        .options(contains_eager(Membership.user), contains_eager(Membership.plan))
        .where(*conditions)
        .order_by(Membership.ends_at, Membership.id)
        .limit(limit)
    )
    return Renewals(list(memberships.unique()), int(total or 0), int(renewing or 0))
