"""Campaigns (a goal over a period, optionally matched by a partner company up to an amount),
gifts (one-off or monthly, with how the donor wants to appear on the wall) and each gift's
confirmed payments, the rows every total is summed from. Columns, constraints, small derived
values and the one transition function of a gift's status; no I/O.

A total is never a counter: it is the sum of confirmed payments less what was refunded of them,
so that two confirmations at the same moment, a repeat of a webhook or a refund can never make
it drift. A payment counts toward the campaign its gift was made to only while that campaign
runs (`counted_campaign_id`, decided when it is confirmed); a monthly gift outliving its
campaign goes on as general giving.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.accounts.models import User
from community.core.db import UTCDateTime, db, utcnow
from community.core.i18n import localized
from community.core.status import sql_in, status_type

KINDS = ("one_off", "monthly")
# How a gift appears on the donor wall: the donor's name and the amount, the name only, or
# neither (the default).
WALL_CHOICES = ("name_amount", "name", "anonymous")
LANGUAGES = ("ja", "en")

STATUSES = (
    "pending",  # its checkout is open: nothing is counted yet
    "paid",  # a one-off gift, confirmed
    "active",  # a monthly gift, paying each month
    "past_due",  # a monthly gift whose last payment failed (Stripe tries again)
    "paused",  # a monthly gift its donor paused: no payment until resumed
    "cancelled",  # a monthly gift its donor (or an organiser) stopped
    "ended",  # a monthly gift Stripe ended (its payments kept failing)
    "abandoned",  # its checkout ended unpaid
)
# What a gift's donor may still change on their private page: payments come, or may come again.
RUNNING = ("active", "past_due", "paused")
TRANSITIONS = {
    "pending": {"paid", "active", "abandoned"},
    "paid": set(),
    "active": {"past_due", "paused", "cancelled", "ended"},
    "past_due": {"active", "paused", "cancelled", "ended"},
    "paused": {"active", "past_due", "cancelled", "ended"},
    "cancelled": set(),
    "ended": set(),
    "abandoned": set(),
}
CAMPAIGN_STATUSES = ("active", "archived")
SLUG_MAX = 60
NAME_MAX = 120
PARTNER_NAME_MAX = 200
DONOR_NAME_MAX = 80
MESSAGE_MAX = 500


class IllegalTransition(Exception):
    """A status change that the model does not allow (a programming error, not user input)."""


class Campaign(db.Model):
    __tablename__ = "donation_campaigns"
    __table_args__ = (
        CheckConstraint("goal_minor > 0", name="goal_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("match_cap_minor >= 0", name="match_cap_not_negative"),
        # Matching needs someone who matches.
        CheckConstraint(
            "match_cap_minor = 0 OR match_partner_name <> ''", name="match_has_partner"
        ),
        Index("ix_donation_campaigns_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    name_ja: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    name_en: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    story_ja: Mapped[str] = mapped_column(Text, default="")
    story_en: Mapped[str] = mapped_column(Text, default="")
    goal_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The partner company that matches gifts one for one, up to `match_cap_minor` (0: none).
    # Its id in sponsorship's directory when it was chosen from there (no foreign key: the
    # directory belongs to another domain), and its name as the campaign shows it.
    match_partner_id: Mapped[int | None] = mapped_column(Integer)
    match_partner_name: Mapped[str] = mapped_column(String(PARTNER_NAME_MAX), default="")
    match_cap_minor: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(status_type(CAMPAIGN_STATUSES, length=8), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def story(self) -> str:
        return localized(self, "story")

    @property
    def is_matched(self) -> bool:
        return self.match_cap_minor > 0

    def runs_at(self, moment: datetime) -> bool:
        return self.status == "active" and self.starts_at <= moment < self.ends_at


class Donation(db.Model):
    """A gift: once, or each month until its donor stops it. No account is needed: the donor
    manages it through a private link (an HMAC of its id and `manage_nonce`)."""

    __tablename__ = "donations"
    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(KINDS)}", name="kind_known"),
        CheckConstraint(f"wall IN {sql_in(WALL_CHOICES)}", name="wall_known"),
        CheckConstraint(f"language IN {sql_in(LANGUAGES)}", name="language_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        # A donor who asked to be named gave a name.
        CheckConstraint("wall = 'anonymous' OR donor_name <> ''", name="named_has_name"),
        # Only a monthly gift runs, pauses or is stopped; only a one-off one is simply paid.
        CheckConstraint(
            "kind = 'monthly' OR status IN ('pending', 'paid', 'abandoned')",
            name="one_off_statuses",
        ),
        CheckConstraint(
            "kind = 'one_off' OR status <> 'paid'",
            name="monthly_statuses",
        ),
        Index("ix_donations_status_confirmed_at", "status", "confirmed_at"),
        Index("ix_donations_email_key", "email_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(status_type(STATUSES, length=12), default="pending")
    # A monthly gift's amount now (its donor may change it); a one-off gift's amount.
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("donation_campaigns.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    # The address as compared (core.text.email_key): a donor's gifts for their statement.
    email_key: Mapped[str] = mapped_column(String(254))
    # Who gave, for counting donors: the account when signed in, else the address.
    donor_key: Mapped[str] = mapped_column(String(270))
    donor_name: Mapped[str] = mapped_column(String(DONOR_NAME_MAX), default="")
    message: Mapped[str] = mapped_column(String(MESSAGE_MAX), default="")
    wall: Mapped[str] = mapped_column(String(12), default="anonymous")
    language: Mapped[str] = mapped_column(String(2), default="ja")
    manage_nonce: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The donor (or an organiser) asked Stripe to stop it: its end is told as a cancellation.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    campaign: Mapped[Campaign | None] = relationship()
    user: Mapped[User | None] = relationship()
    payments: Mapped[list[DonationPayment]] = relationship(
        back_populates="donation",
        cascade="all, delete-orphan",
        order_by="DonationPayment.id",
    )

    @property
    def is_monthly(self) -> bool:
        return self.kind == "monthly"

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING

    @property
    def given_minor(self) -> int:
        """What this gift has given so far, less refunds."""
        return sum(payment.net_minor for payment in self.payments)

    def transition(self, new_status: str, moment: datetime) -> None:
        if new_status not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"donation {self.id}: {self.status} → {new_status}")
        self.status = new_status
        self.updated_at = moment
        if new_status in ("paid", "active") and self.confirmed_at is None:
            self.confirmed_at = moment
        if new_status in ("cancelled", "ended", "abandoned"):
            self.ended_at = moment


class DonationPayment(db.Model):
    """One confirmed payment of a gift (a one-off gift's only one, each month's of a monthly
    gift), and what of it was refunded: the rows that totals, walls and statements are read
    from."""

    __tablename__ = "donation_payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("refunded_minor >= 0", name="refunded_not_negative"),
        CheckConstraint("refunded_minor <= amount_minor", name="refunded_within_amount"),
        Index("ix_donation_payments_campaign_paid_at", "counted_campaign_id", "paid_at"),
        Index("ix_donation_payments_paid_at", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    # The ledger's payment: recorded once for each (a repeated webhook finds it taken).
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL"), unique=True
    )
    counted_campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("donation_campaigns.id", ondelete="SET NULL")
    )
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    donation: Mapped[Donation] = relationship(back_populates="payments")

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.refunded_minor
