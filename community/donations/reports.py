"""What the organisers' donations pages read: the filtered gifts (a page of them, and all of them
for the CSV export), the recurring donors (the monthly gifts still running), one gift with its
payments, and the reports (totals per month and per campaign, what each matching partner owes,
the refunds). Nothing here writes.

Every figure is summed by the database from the confirmed payments less their refunds (never a
counter), in one query whatever the number of gifts; every list loads what it shows in the
same query or one more. Months are the community's (DEFAULT_TIMEZONE); amounts in different
currencies are never added up.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, literal, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from community.core.dates import recent_months, zone
from community.core.db import db, utcnow
from community.core.pagination import Page, page_number
from community.core.text import SEARCH_MAX, contains_pattern, search_term, spreadsheet_cell
from community.core.urls import MAX_ID
from community.donations import services
from community.donations.models import (
    KINDS,
    RUNNING,
    STATUSES,
    Campaign,
    Donation,
    DonationPayment,
)

PER_PAGE = 50
MONTHS = 12
REFUNDS_SHOWN = 100
# The campaign filter's value for gifts made to no campaign.
GENERAL = "general"

STATUS_LABELS: dict[str, LazyString] = {
    "pending": _l("Waiting for the payment"),
    "paid": _l("Paid"),
    "active": _l("Giving each month"),
    "past_due": _l("Monthly payment failed"),
    "paused": _l("Paused"),
    "cancelled": _l("Stopped by the donor"),
    "ended": _l("Ended by the card provider"),
    "abandoned": _l("Not completed"),
}
KIND_LABELS: dict[str, LazyString] = {
    "one_off": _l("One-off gift"),
    "monthly": _l("Monthly gift"),
}
WALL_LABELS: dict[str, LazyString] = {
    "name_amount": _l("Name and amount"),
    "name": _l("Name only"),
    "anonymous": _l("Anonymous"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


# --- the list of gifts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GiftFilters:
    # A campaign's id, GENERAL (gifts to no campaign) or None (all).
    campaign: int | str | None = None
    kind: str | None = None
    status: str | None = None
    search: str = ""
    page: int = 1
    # The recurring donors' list: monthly gifts that still run (the kind and status are theirs).
    recurring: bool = False
    problems: tuple[str | LazyString, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args, campaign_ids, *, recurring: bool = False) -> GiftFilters:
        problems: list[str | LazyString] = []
        campaign: int | str | None = None
        text = search_term(args.get("campaign"))
        if text == GENERAL:
            campaign = GENERAL
        elif text:
            number = int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None
            if number is not None and 0 < number <= MAX_ID and number in campaign_ids:
                campaign = number
            else:
                problems.append(_l("The campaign you chose is unknown: it is ignored."))
        kind = search_term(args.get("kind")) or None
        if kind is not None and (recurring or kind not in KINDS):
            if not recurring:
                problems.append(_l("The kind of gift you chose is unknown: it is ignored."))
            kind = None
        status = search_term(args.get("status")) or None
        allowed = RUNNING if recurring else STATUSES
        if status is not None and status not in allowed:
            problems.append(_l("The status you chose is unknown: it is ignored."))
            status = None
        return cls(
            campaign=campaign,
            kind=kind,
            status=status,
            search=search_term(args.get("q"))[:SEARCH_MAX],
            page=page_number(args.get("page")),
            recurring=recurring,
            problems=tuple(problems),
        )

    def query_args(self) -> dict[str, str]:
        """The filters as query arguments (without the page), for links and the export."""
        args = {
            "campaign": str(self.campaign) if self.campaign else None,
            "kind": self.kind,
            "status": self.status,
            "q": self.search,
        }
        return {name: value for name, value in args.items() if value}

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = []
        if self.recurring:
            conditions += [Donation.kind == "monthly", Donation.status.in_(RUNNING)]
        if self.campaign == GENERAL:
            conditions.append(Donation.campaign_id.is_(None))
        elif self.campaign:
            conditions.append(Donation.campaign_id == self.campaign)
        if self.kind:
            conditions.append(Donation.kind == self.kind)
        if self.status:
            conditions.append(Donation.status == self.status)
        if self.search:
            pattern = contains_pattern(self.search)
            conditions.append(
                or_(
                    func.lower(Donation.donor_name).like(pattern, escape="\\"),
                    Donation.email_key.like(pattern, escape="\\"),
                )
            )
        return conditions


def _gifts(conditions):
    """Gifts with their campaign (same query) and payments (one more), newest first."""
    return (
        select(Donation)
        .outerjoin(Donation.campaign)
        .options(contains_eager(Donation.campaign), selectinload(Donation.payments))
        .where(*conditions)
        .order_by(Donation.created_at.desc(), Donation.id.desc())
    )


def list_gifts(filters: GiftFilters, per_page: int | None = None) -> Page:
    """One page of the filtered gifts: three queries (a count, the page, its payments)."""
    per_page = per_page or PER_PAGE
    conditions = filters.conditions()
    total = db.session.scalar(select(func.count(Donation.id)).where(*conditions)) or 0
    number = min(filters.page, max((total + per_page - 1) // per_page, 1))
    items = db.session.scalars(_gifts(conditions).limit(per_page).offset((number - 1) * per_page))
    return Page(list(items.unique()), number, per_page, total)


def gift_record(donation_id: int) -> Donation | None:
    if not 0 < donation_id <= MAX_ID:
        return None
    return db.session.scalar(
        select(Donation)
        .where(Donation.id == donation_id)
        .options(selectinload(Donation.payments), selectinload(Donation.campaign))
    )


# --- the CSV export ------------------------------------------------------------------------------


def gifts_csv(filters: GiftFilters, language: str) -> bytes:
    """Every filtered gift (not only one page), newest first, in the reader's `language`: UTF-8
    with a BOM and CRLF line ends for Excel; what donors typed goes through spreadsheet_cell."""
    with force_locale(language):
        return _gifts_csv(filters)


def _gifts_csv(filters: GiftFilters) -> bytes:
    tz = zone()
    zone_name = str(tz.key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            str(_l("Gift")),
            str(_l("Donor name")),
            str(_l("E-mail address")),
            str(_l("Kind")),
            str(_l("Status")),
            str(_l("Amount")),
            str(_l("Currency")),
            str(_l("Given so far")),
            str(_l("Campaign")),
            str(_l("Donor wall")),
            str(_l("Message")),
            str(_l("Made at (%(zone)s)", zone=zone_name)),
        ]
    )
    for gift in db.session.scalars(_gifts(filters.conditions())).unique():
        writer.writerow(
            [
                gift.id,
                spreadsheet_cell(gift.donor_name),
                spreadsheet_cell(gift.email),
                str(KIND_LABELS[gift.kind]),
                status_label(gift.status),
                gift.amount_minor,
                gift.currency,
                gift.given_minor,
                spreadsheet_cell(gift.campaign.name) if gift.campaign else "",
                str(WALL_LABELS[gift.wall]),
                spreadsheet_cell(gift.message),
                gift.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


# --- the reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthTotal:
    month: str  # "2026-05", in DEFAULT_TIMEZONE
    currency: str
    payments: int
    received_minor: int
    refunded_minor: int

    @property
    def net_minor(self) -> int:
        return self.received_minor - self.refunded_minor


def totals_by_month(moment: datetime | None = None) -> list[MonthTotal]:
    """What the payments of each of the last MONTHS local months gave, and what of them was
    refunded, per currency, oldest first (months without a payment are left out): one query."""
    months = recent_months(moment or utcnow(), MONTHS)
    month_of = case(
        *[(DonationPayment.paid_at >= starts, label) for label, starts in reversed(months[1:])],
        else_=literal(months[0][0]),
    )
    rows = (
        select(
            month_of.label("month"),
            DonationPayment.currency.label("currency"),
            DonationPayment.amount_minor.label("amount"),
            DonationPayment.refunded_minor.label("refunded"),
        )
        .where(DonationPayment.paid_at >= months[0][1])
        .subquery()
    )
    # Grouped outside: PostgreSQL does not match a CASE with bound parameters to "the same" one
    # in GROUP BY.
    found = db.session.execute(
        select(
            rows.c.month,
            rows.c.currency,
            func.count(),
            func.sum(rows.c.amount),
            func.sum(rows.c.refunded),
        )
        .group_by(rows.c.month, rows.c.currency)
        .order_by(rows.c.month, rows.c.currency)
    )
    return [
        MonthTotal(month, currency, int(count), int(received or 0), int(refunded or 0))
        for month, currency, count, received, refunded in found
    ]


@dataclass(frozen=True)
class CampaignTotal:
    campaign: Campaign
    progress: services.Progress


def totals_by_campaign() -> list[CampaignTotal]:
    """Every campaign (running, ended, archived; the newest first) with what it raised, from
    how many donors, and its match: two queries."""
    campaigns = services.all_campaigns()
    progress = services.progress_of(campaigns)
    return [CampaignTotal(campaign, progress[campaign.id]) for campaign in campaigns]


@dataclass(frozen=True)
class MatchOwed:
    partner: str
    currency: str
    owed_minor: int
    campaigns: list[Campaign]


def matching_owed(totals: list[CampaignTotal]) -> list[MatchOwed]:
    """What each matching partner owes across its campaigns, per currency: what their gifts
    raised, one for one, up to each campaign's cap."""
    owed: dict[tuple[str, str], MatchOwed] = {}
    for total in totals:
        campaign = total.campaign
        if not campaign.is_matched:
            continue
        key = (campaign.match_partner_name, campaign.currency)
        entry = owed.setdefault(key, MatchOwed(*key, 0, []))
        owed[key] = MatchOwed(
            entry.partner,
            entry.currency,
            entry.owed_minor + total.progress.matched_minor,
            [*entry.campaigns, campaign],
        )
    return sorted(owed.values(), key=lambda entry: (entry.partner.casefold(), entry.currency))


def refunds(limit: int = REFUNDS_SHOWN) -> list[DonationPayment]:
    """The payments refunded in part or in full, the latest first, with their gifts (one
    query)."""
    return list(
        db.session.scalars(
            select(DonationPayment)
            .join(DonationPayment.donation)
            .options(contains_eager(DonationPayment.donation))
            .where(DonationPayment.refunded_minor > 0)
            .order_by(DonationPayment.paid_at.desc(), DonationPayment.id.desc())
            .limit(limit)
        )
    )
