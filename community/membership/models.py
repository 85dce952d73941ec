"""Membership plans and what each gives, memberships (a person holding a plan for a term) and
their history. Columns, constraints, small derived values and the one transition function of a
membership's status; no I/O.

A person holds at most one membership that is pending, active, past due or in grace (a partial
unique index); a membership gives its plan's benefits while it is active, past due or in grace
and its grace has not ended (`grace_ends_at`, its end plus the grace period), so that the answer
never waits for a job to move its status.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.accounts.models import User
from community.core.db import UTCDateTime, db, utcnow
from community.core.i18n import localized
from community.core.status import sql_in, status_type

PLAN_STATUSES = ("active", "retired")
# Renewal by a yearly subscription at Stripe, or by a payment (or a click, when free) each year
# after reminders.
RENEWALS = ("subscription", "one_off")

STATUSES = ("pending", "active", "past_due", "in_grace", "expired", "cancelled", "abandoned")
# One of these a person: joining again is refused while one is held.
HOLDING = ("pending", "active", "past_due", "in_grace")
# These give the plan's benefits (until the grace ends).
BENEFITING = ("active", "past_due", "in_grace")
TRANSITIONS = {
    # pending: joined a paid plan, its payment not yet confirmed; abandoned: it never was.
    "pending": {"active", "abandoned"},
    "active": {"past_due", "in_grace", "expired", "cancelled"},
    "past_due": {"active", "in_grace", "expired", "cancelled"},
    "in_grace": {"active", "expired", "cancelled"},
    # A subscription's renewal that Stripe reports after the grace ended brings it back.
    "expired": {"active"},
    "cancelled": set(),
    "abandoned": set(),
}
HISTORY_KINDS = (
    "joined",
    "renewed",
    "past_due",
    "recovered",
    "in_grace",
    "expired",
    "cancelled",
    "abandoned",
    "refunded",
    "auto_renew_off",
    "auto_renew_on",
    "plan_changed",
)
NAME_MAX = 120
SLUG_MAX = 60
DESCRIPTION_MAX = 4000


class IllegalTransition(Exception):
    """A status change that the model does not allow (a programming error, not user input)."""


class MembershipPlan(db.Model):
    __tablename__ = "membership_plans"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(f"renewal IN {sql_in(RENEWALS)}", name="renewal_known"),
        # Stripe cannot bill nothing every year: a free plan is renewed with a click.
        CheckConstraint("renewal = 'one_off' OR price_minor > 0", name="free_plan_is_one_off"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    name_ja: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    name_en: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # The price of a year, with the consumption tax.
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    renewal: Mapped[str] = mapped_column(String(16), default="one_off")
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(status_type(PLAN_STATUSES, length=8), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    benefit_rows: Mapped[list[PlanBenefit]] = relationship(
        cascade="all, delete-orphan", order_by="PlanBenefit.benefit"
    )

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def description(self) -> str:
        return localized(self, "description")

    @property
    def benefits(self) -> list[str]:
        return [row.benefit for row in self.benefit_rows]

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_free(self) -> bool:
        return self.price_minor == 0


class PlanBenefit(db.Model):
    """One benefit a plan gives, by the name a domain gave it (accounts' member_benefit)."""

    __tablename__ = "membership_plan_benefits"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("membership_plans.id", ondelete="CASCADE"), primary_key=True
    )
    benefit: Mapped[str] = mapped_column(String(40), primary_key=True)


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(f"renewal IN {sql_in(RENEWALS)}", name="renewal_known"),
        CheckConstraint("terms >= 0", name="terms_not_negative"),
        CheckConstraint("reminders_sent BETWEEN 0 AND 2", name="reminders_sent_range"),
        CheckConstraint(
            "status IN ('pending', 'abandoned') OR (starts_at IS NOT NULL AND ends_at IS NOT NULL "
            "AND grace_ends_at IS NOT NULL)",
            name="held_has_dates",
        ),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "grace_ends_at IS NULL OR grace_ends_at >= ends_at", name="grace_after_end"
        ),
        # One membership held at a time: joining twice, at once or not, keeps one.
        Index(
            "uq_memberships_user_id_holding",
            "user_id",
            unique=True,
            sqlite_where=text(f"status IN {sql_in(HOLDING)}"),
            postgresql_where=text(f"status IN {sql_in(HOLDING)}"),
        ),
        Index("ix_memberships_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("membership_plans.id"), index=True)
    status: Mapped[str] = mapped_column(status_type(STATUSES, length=16), default="pending")
    # Copied from the plan when joined (or changed at a renewal): a plan changed later does not
    # change what a member bought.
    renewal: Mapped[str] = mapped_column(String(16))
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # A subscription renews itself until its member stops it (it then runs to its end).
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    grace_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Terms paid (or, when free, renewed): the next renewal's order is the term after.
    terms: Mapped[int] = mapped_column(Integer, default=0)
    # Renewal reminders sent for the current end (30 days, then 7): reset when it moves.
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # The order that started it (the subscription's, for one renewed by Stripe).
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    plan: Mapped[MembershipPlan] = relationship()
    history: Mapped[list[MembershipEvent]] = relationship(
        back_populates="membership",
        cascade="all, delete-orphan",
        order_by="MembershipEvent.id",
    )

    @property
    def is_held(self) -> bool:
        return self.status in HOLDING

    def gives_benefits(self, moment: datetime) -> bool:
        return (
            self.status in BENEFITING
            and self.grace_ends_at is not None
            and self.grace_ends_at > moment
        )

    def transition(self, new_status: str, moment: datetime) -> None:
        if new_status not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"membership {self.id}: {self.status} → {new_status}")
        self.status = new_status
        self.updated_at = moment
        if new_status in ("expired", "cancelled", "abandoned"):
            self.ended_at = moment
        elif new_status == "active":
            self.ended_at = None


class MembershipEvent(db.Model):
    """One step of a membership's history: joined, renewed, fell past due, ended …, with the
    money it brought (or gave back) and the end date after it."""

    __tablename__ = "membership_events"
    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(HISTORY_KINDS)}", name="kind_known"),
        CheckConstraint("currency IS NULL OR length(currency) = 3", name="currency_code"),
        CheckConstraint("(amount_minor IS NULL) = (currency IS NULL)", name="amount_has_currency"),
        Index("ix_membership_events_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    plan_id: Mapped[int] = mapped_column(ForeignKey("membership_plans.id"))
    # Money in (a payment) is positive, money back (a refund) negative.
    amount_minor: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )

    membership: Mapped[Membership] = relationship(back_populates="history")
    plan: Mapped[MembershipPlan] = relationship()
