"""What the organisers' view of sponsorship reads: the pipeline, revenue by tier and year, the
CSV export. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from community.core.db import db
from community.core.text import spreadsheet_cell
from community.payments.models import Order
from community.sponsorship.models import Partner, Sponsorship, SponsorshipTier

EXPIRING_WITHIN = timedelta(days=60)
CSV_HEADER = (
    "id",
    "company",
    "tier",
    "year",
    "starts_on",
    "ends_on",
    "status",
    "method",
    "amount_minor",
    "currency",
    "invoice_number",
    "due_on",
    "paid_at",
)


@dataclass(frozen=True)
class Pipeline:
    invoiced: list[Sponsorship]
    active: list[Sponsorship]
    expiring: list[Sponsorship]
    lapsed: list[Sponsorship]
    awaiting_card: list[Sponsorship]


def pipeline(day: date) -> Pipeline:
    rows = list(
        db.session.scalars(
            select(Sponsorship).order_by(Sponsorship.year.desc(), Sponsorship.created_at)
        )
    )
    active = [row for row in rows if row.is_active_on(day)]
    return Pipeline(
        invoiced=[row for row in rows if row.status == "invoiced"],
        active=active,
        expiring=[row for row in active if row.ends_on - day <= EXPIRING_WITHIN],
        lapsed=[row for row in rows if row.status == "lapsed"],
        awaiting_card=[row for row in rows if row.status == "awaiting_payment"],
    )


def revenue_by_tier_and_year() -> list[tuple[str, int, str, int, int]]:
    """(tier name, year, currency, sponsorships paid, money received less refunds)."""
    rows = db.session.execute(
        select(
            SponsorshipTier,
            Sponsorship.year,
            Order.currency,
            func.count(Sponsorship.id),
            func.sum(Order.amount_minor - Order.refunded_minor),
        )
        .join(Sponsorship, Sponsorship.tier_id == SponsorshipTier.id)
        .join(Order, Order.id == Sponsorship.order_id)
        .where(Order.status.in_(("paid", "partially_refunded", "refunded")))
        .group_by(SponsorshipTier.id, Sponsorship.year, Order.currency)
        .order_by(Sponsorship.year.desc(), SponsorshipTier.position, SponsorshipTier.id)
    ).all()
    return [
        (tier.name, year, currency, count, total or 0)
        for tier, year, currency, count, total in rows
    ]


def partner_choices() -> list[tuple[int, str]]:
    partners = db.session.scalars(select(Partner).order_by(Partner.name_en, Partner.id))
    return [(partner.id, partner.name) for partner in partners]


def csv_rows():
    rows = db.session.execute(
        select(Sponsorship, Partner, SponsorshipTier, Order)
        .join(Partner, Partner.id == Sponsorship.partner_id)
        .join(SponsorshipTier, SponsorshipTier.id == Sponsorship.tier_id)
        .outerjoin(Order, Order.id == Sponsorship.order_id)
        .order_by(Sponsorship.id)
    )
    for sponsorship, partner, tier, order in rows:
        yield (
            sponsorship.id,
            spreadsheet_cell(partner.name),
            spreadsheet_cell(tier.name),
            sponsorship.year,
            sponsorship.starts_on.isoformat(),
            sponsorship.ends_on.isoformat(),
            sponsorship.status,
            sponsorship.method,
            order.amount_minor if order else "",
            sponsorship.currency,
            (order.invoice_number or "") if order else "",
            sponsorship.due_on.isoformat() if sponsorship.due_on else "",
            sponsorship.paid_at.isoformat() if sponsorship.paid_at else "",
        )
