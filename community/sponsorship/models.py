"""Sponsorship tiers and the places they have each sponsorship year, partner companies and their
contacts, sponsorships (a partner holding a tier for a year), event sponsorships and the
complimentary ticket codes a sponsorship gives. Columns, constraints, small derived values and
the one transition function per status; no I/O.

A tier's places in a year are counted on `TierYear.taken` (core/capacity.claim), which a CHECK
keeps within the year's `places`; a sponsorship holds one of them while it is awaiting payment,
invoiced or paid.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.accounts.models import User
from community.core.db import UTCDateTime, db, utcnow
from community.core.i18n import localized
from community.core.status import sql_in, status_type

TIER_STATUSES = ("active", "retired")
LOGO_SIZES = ("large", "medium", "small")
LOGO_TYPES = ("image/png", "image/jpeg", "image/webp", "image/svg+xml")
METHODS = ("card", "invoice")
EVENT_ROLES = ("venue", "food", "speaker", "other")

SPONSORSHIP_STATUSES = ("awaiting_payment", "invoiced", "paid", "expired", "lapsed", "cancelled")
# Statuses that hold one of the tier's places in the sponsorship's year.
HOLDING = ("awaiting_payment", "invoiced", "paid")
TRANSITIONS = {
    "awaiting_payment": {"paid", "expired", "cancelled"},
    "invoiced": {"paid", "lapsed", "cancelled"},
    "paid": {"cancelled"},
    "expired": set(),
    "lapsed": set(),
    "cancelled": set(),
}


class IllegalTransition(Exception):
    """A status change that the model does not allow (a programming error, not user input)."""


class SponsorshipTier(db.Model):
    __tablename__ = "sponsorship_tiers"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("tax_rate BETWEEN 0 AND 100", name="tax_rate_range"),
        CheckConstraint("places IS NULL OR places >= 0", name="places_not_negative"),
        CheckConstraint("complimentary_tickets >= 0", name="complimentary_tickets_not_negative"),
        CheckConstraint("posts >= 0", name="posts_not_negative"),
        CheckConstraint(f"logo_size IN {sql_in(LOGO_SIZES)}", name="logo_size_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name_ja: Mapped[str] = mapped_column(String(120), default="")
    name_en: Mapped[str] = mapped_column(String(120), default="")
    # One benefit a line, shown as a list.
    benefits_ja: Mapped[str] = mapped_column(Text, default="")
    benefits_en: Mapped[str] = mapped_column(Text, default="")
    # The yearly price, stated as the community chose: with the consumption tax or before it.
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    price_includes_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_rate: Mapped[int] = mapped_column(Integer, default=10)
    # How many partners may hold the tier in one sponsorship year; NULL: no limit.
    places: Mapped[int | None] = mapped_column(Integer)
    complimentary_tickets: Mapped[int] = mapped_column(Integer, default=0)
    logo_size: Mapped[str] = mapped_column(String(8), default="medium")
    mention_at_openings: Mapped[bool] = mapped_column(Boolean, default=False)
    # Job or event posts a year.
    posts: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(status_type(TIER_STATUSES, length=8), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def benefits(self) -> list[str]:
        return [line.strip() for line in localized(self, "benefits").splitlines() if line.strip()]

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class TierYear(db.Model):
    """A tier's places in one sponsorship year (the year it starts in), made when first sold."""

    __tablename__ = "sponsorship_tier_years"
    __table_args__ = (
        UniqueConstraint("tier_id", "year", name="uq_sponsorship_tier_years_tier_id_year"),
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        CheckConstraint("places IS NULL OR taken <= places", name="taken_within_places"),
        CheckConstraint("year BETWEEN 2000 AND 9999", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("sponsorship_tiers.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    # The tier's places, kept equal to them by the services (the counter's limit beside it).
    places: Mapped[int | None] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Partner(db.Model):
    """A partner company, its public profile and its billing details."""

    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint(
            "registration_number IS NULL OR length(registration_number) = 14",
            name="registration_number_length",
        ),
        CheckConstraint(
            f"logo_type IS NULL OR logo_type IN {sql_in(LOGO_TYPES)}", name="logo_type_known"
        ),
        CheckConstraint("(logo IS NULL) = (logo_type IS NULL)", name="logo_with_type"),
        CheckConstraint("logo_version >= 0", name="logo_version_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name_ja: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # The checked logo (sponsorship/logos.py): served from the database, so that every process
    # on every machine has it.
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(String(20))
    logo_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    billing_name: Mapped[str] = mapped_column(String(200), default="")
    billing_address: Mapped[str] = mapped_column(String(500), default="")
    billing_department: Mapped[str] = mapped_column(String(200), default="")
    billing_contact: Mapped[str] = mapped_column(String(200), default="")
    # "T" and 13 digits (registration_number.py); NULL for a company without one.
    registration_number: Mapped[str | None] = mapped_column(String(14))
    # The number fails the corporate number's check digit and the person said it is right (a
    # sole proprietor's number is not a corporate number).
    registration_number_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contacts: Mapped[list[PartnerContact]] = relationship(
        back_populates="partner", cascade="all, delete-orphan", order_by="PartnerContact.added_at"
    )

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def description(self) -> str:
        return localized(self, "description")

    @property
    def has_logo(self) -> bool:
        return self.logo_type is not None


class PartnerContact(db.Model):
    """A user account that may manage the company (buy, see its documents, add contacts)."""

    __tablename__ = "partner_contacts"

    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="contacts")
    user: Mapped[User] = relationship()


class Sponsorship(db.Model):
    """A partner holding a tier for one sponsorship year: bought by card (Stripe Checkout) or
    against an invoice paid by bank transfer. Its price and tax are fixed when it is bought."""

    __tablename__ = "sponsorships"
    __table_args__ = (
        CheckConstraint(f"method IN {sql_in(METHODS)}", name="method_known"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("tax_rate BETWEEN 0 AND 100", name="tax_rate_range"),
        # One bought on a year's last day lasts that day.
        CheckConstraint("ends_on >= starts_on", name="ends_on_or_after_start"),
        CheckConstraint("method <> 'invoice' OR due_on IS NOT NULL", name="invoice_has_due_date"),
        CheckConstraint("renewal_reminders BETWEEN 0 AND 2", name="renewal_reminders_range"),
        CheckConstraint("payment_reminders >= 0", name="payment_reminders_not_negative"),
        CheckConstraint("year BETWEEN 2000 AND 9999", name="year_range"),
        # One tier a year for a partner: a second purchase (or the same one twice) is refused.
        Index(
            "uq_sponsorships_partner_id_year_holding",
            "partner_id",
            "year",
            unique=True,
            sqlite_where=text(f"status IN {sql_in(HOLDING)}"),
            postgresql_where=text(f"status IN {sql_in(HOLDING)}"),
        ),
        Index("ix_sponsorships_status_ends_on", "status", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    tier_id: Mapped[int] = mapped_column(ForeignKey("sponsorship_tiers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # the last day it is active
    status: Mapped[str] = mapped_column(status_type(SPONSORSHIP_STATUSES, length=20))
    method: Mapped[str] = mapped_column(String(8))
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    price_includes_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_rate: Mapped[int] = mapped_column(Integer, default=10)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    # An invoice's due date; the reservation lapses once it has passed without a transfer.
    due_on: Mapped[date | None] = mapped_column(Date)
    bought_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    renewal_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("sponsorships.id", ondelete="SET NULL")
    )
    # Renewal e-mails sent (30 and 7 days before the end) and reminders of an unpaid invoice.
    renewal_reminders: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    payment_reminders: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner: Mapped[Partner] = relationship()
    tier: Mapped[SponsorshipTier] = relationship(lazy="joined")

    @property
    def holds_place(self) -> bool:
        return self.status in HOLDING

    def is_active_on(self, day: date) -> bool:
        """Paid, and `day` is within its dates: its logo is shown, its benefits given."""
        return self.status == "paid" and self.starts_on <= day <= self.ends_on

    def transition(self, new_status: str, moment: datetime) -> None:
        if new_status not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"sponsorship {self.id}: {self.status} -> {new_status}")
        self.status = new_status
        if new_status == "paid":
            self.paid_at = moment
        else:
            self.closed_at = moment


class EventSponsorship(db.Model):
    """A partner sponsoring one event (its venue, food and drinks, a speaker…)."""

    __tablename__ = "event_sponsorships"
    __table_args__ = (
        CheckConstraint(f"role IN {sql_in(EVENT_ROLES)}", name="role_known"),
        UniqueConstraint(
            "event_id", "partner_id", "role", name="uq_event_sponsorships_event_id_partner_id_role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    partner: Mapped[Partner] = relationship(lazy="joined")


class ComplimentaryCode(db.Model):
    """One complimentary ticket of a sponsorship for one event: a voucher code (events'
    voucher hook) that takes a place at no charge, once."""

    __tablename__ = "sponsorship_codes"
    __table_args__ = (
        UniqueConstraint(
            "sponsorship_id",
            "event_id",
            "number",
            name="uq_sponsorship_codes_sponsorship_id_event_id_number",
        ),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsorship_id: Mapped[int] = mapped_column(
        ForeignKey("sponsorships.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="SET NULL"), unique=True
    )
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
