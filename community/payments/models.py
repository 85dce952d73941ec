"""The payments ledger: orders, the payments that settle them (a Checkout Session at Stripe or in
the sandbox, a bank transfer recorded by an administrator against the order's invoice, each
renewal of a subscription), refunds (each of one payment), subscriptions, and every webhook event
received.

Amounts are integers in the currency's minor unit with an ISO 4217 code. Provider ids are unique,
so the same session, payment intent, invoice, refund, subscription or event can never be recorded
twice, and an order is settled by one payment at most (renewals aside). Statuses move only
through each model's `transition()` (or, for a conditional UPDATE whose row count decides,
`moved_to()`), which refuse the moves their table does not list.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.core.db import UTCDateTime, db, utcnow
from community.core.status import sql_in, status_type

if TYPE_CHECKING:
    from community.accounts.models import User

ORDER_STATUSES = ("pending", "paid", "expired", "failed", "refunded", "partially_refunded")
ORDER_TRANSITIONS = {
    "pending": {"paid", "expired", "failed"},
    "paid": {"refunded", "partially_refunded"},
    "partially_refunded": {"refunded", "partially_refunded"},
    # Money that arrives after the checkout was closed (a payment Stripe took at the last moment,
    # a delayed one that settled late) is recorded all the same, then refunded if it cannot be
    # given: nothing paid is lost.
    "expired": {"paid"},
    "failed": {"paid"},
    "refunded": set(),
}
PAYMENT_STATUSES = ("open", "paid", "expired", "failed")
PAYMENT_TRANSITIONS = {
    "open": {"paid", "expired", "failed"},
    # Late money (see ORDER_TRANSITIONS); and a session's asynchronous payment that failed after
    # its checkout was completed can still be reported expired by a replay, which changes nothing.
    "expired": {"paid"},
    "failed": {"paid", "expired"},
    "paid": set(),
}
REFUND_STATUSES = ("pending", "succeeded", "failed")
REFUND_TRANSITIONS = {"pending": {"succeeded", "failed"}, "succeeded": set(), "failed": set()}
MODES = ("payment", "subscription")
# Stripe's own recurring intervals that an order may be billed at.
INTERVALS = ("month", "year")
PROVIDERS = ("stripe", "sandbox", "bank_transfer")
# How a payment came: a Checkout Session (Stripe's or the sandbox's), a bank transfer recorded by
# hand against the order's invoice, or a subscription's later invoice paid at the provider.
PAYMENT_KINDS = ("checkout", "bank_transfer", "renewal")
SUBSCRIPTION_STATUSES = ("active", "past_due", "ended")
SUBSCRIPTION_TRANSITIONS = {
    "active": {"past_due", "ended"},
    "past_due": {"active", "ended"},
    "ended": set(),
}


class IllegalTransition(Exception):
    """A status change the ledger does not allow (a programming error, not user input)."""


def _check_move(row, table: dict[str, set[str]], new_status: str) -> None:
    if new_status not in table.get(row.status, set()):
        raise IllegalTransition(f"{row.__tablename__} {row.id}: {row.status} → {new_status}")


def _sources(table: dict[str, set[str]], new_status: str) -> list[str]:
    """The statuses from which `new_status` may be reached."""
    return [status for status, targets in table.items() if new_status in targets]


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"mode IN {sql_in(MODES)}", name="mode_known"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("refunded_minor >= 0", name="refunded_not_negative"),
        CheckConstraint("refunded_minor <= amount_minor", name="refunded_within_amount"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        # A subscription is billed at an interval, and only a subscription is.
        CheckConstraint(
            f"billing_interval IS NULL OR billing_interval IN {sql_in(INTERVALS)}",
            name="billing_interval_known",
        ),
        CheckConstraint(
            "(mode = 'subscription') = (billing_interval IS NOT NULL)",
            name="subscription_has_interval",
        ),
        UniqueConstraint("invoice_number", name="uq_orders_invoice_number"),
        # One open order per thing being bought: a second click reuses it.
        Index(
            "uq_orders_purpose_reference_pending",
            "purpose",
            "reference",
            unique=True,
            sqlite_where=db.text("status = 'pending'"),
            postgresql_where=db.text("status = 'pending'"),
        ),
        Index("ix_orders_status_created_at", "status", "created_at"),
        Index("ix_orders_purpose_reference", "purpose", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30))
    # The purpose's own id of what is bought (a registration's id for a ticket).
    reference: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300), default="")
    buyer_email: Mapped[str] = mapped_column(String(254))
    buyer_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    mode: Mapped[str] = mapped_column(String(16), default="payment")
    # A subscription's interval ("month", "year"), taken by its checkout at the provider.
    billing_interval: Mapped[str | None] = mapped_column(String(8))
    # Given once the order is to be paid against an invoice (by bank transfer).
    invoice_number: Mapped[str | None] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # What went back of the payment that settled the order (and its status says so): a
    # subscription's later payments keep what went back of each on their own row.
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(status_type(ORDER_STATUSES, length=20), default="pending")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    payments: Mapped[list[Payment]] = relationship(
        back_populates="order", order_by="Payment.id", cascade="all, delete-orphan"
    )
    refunds: Mapped[list[Refund]] = relationship(
        back_populates="order", order_by="Refund.id", cascade="all, delete-orphan"
    )
    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="order", order_by="Subscription.id", cascade="all, delete-orphan"
    )

    def transition(self, new_status: str, moment: datetime) -> None:
        _check_move(self, ORDER_TRANSITIONS, new_status)
        self.status = new_status
        if new_status == "paid":
            self.paid_at = moment
        if new_status in ("expired", "failed"):
            self.closed_at = moment


class Payment(db.Model):
    """One payment of an order: an attempt through a Checkout Session (at Stripe or in the
    sandbox), a bank transfer recorded by hand, or a subscription's renewal."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"provider IN {sql_in(PROVIDERS)}", name="provider_known"),
        CheckConstraint(f"kind IN {sql_in(PAYMENT_KINDS)}", name="kind_known"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("refunded_minor >= 0", name="refunded_not_negative"),
        CheckConstraint("refunded_minor <= amount_minor", name="refunded_within_amount"),
        CheckConstraint("receipt_questions >= 0", name="receipt_questions_not_negative"),
        CheckConstraint(
            "kind <> 'checkout' OR session_id IS NOT NULL", name="checkout_has_session"
        ),
        CheckConstraint("kind <> 'renewal' OR invoice_id IS NOT NULL", name="renewal_has_invoice"),
        CheckConstraint(
            "(kind = 'bank_transfer') = (provider = 'bank_transfer')", name="bank_transfer_kind"
        ),
        CheckConstraint(
            "kind <> 'bank_transfer' OR (received_on IS NOT NULL AND status = 'paid')",
            name="bank_transfer_received",
        ),
        UniqueConstraint("provider", "session_id", name="uq_payments_provider_session_id"),
        UniqueConstraint(
            "provider", "payment_intent_id", name="uq_payments_provider_payment_intent_id"
        ),
        UniqueConstraint("provider", "invoice_id", name="uq_payments_provider_invoice_id"),
        # One payment settles an order (a subscription's renewals come on top of it): a second
        # transfer, or a transfer for an order paid by card, can never be recorded as well.
        Index(
            "uq_payments_order_id_settled",
            "order_id",
            unique=True,
            sqlite_where=db.text("status = 'paid' AND kind <> 'renewal'"),
            postgresql_where=db.text("status = 'paid' AND kind <> 'renewal'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="checkout")
    # A Checkout Session's id (the checkout kind only).
    session_id: Mapped[str | None] = mapped_column(String(255))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    # The provider's invoice paid by a renewal.
    invoice_id: Mapped[str | None] = mapped_column(String(255))
    # A bank transfer: the day it reached the account (in the community's zone), the bank's
    # reference for it (the payer's name as the statement shows it), and who recorded it.
    received_on: Mapped[date | None] = mapped_column(Date)
    transfer_reference: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    checkout_url: Mapped[str] = mapped_column(String(2000), default="")
    # Stripe's page for the charge (kept up to date with its refunds), read from the payment
    # intent once it is paid; the buyer's link to their receipt.
    receipt_url: Mapped[str | None] = mapped_column(String(2000))
    # When the worker asks Stripe for it again (None: at once), and how often it has asked.
    receipt_next_ask_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_questions: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Our own receipt (領収書) of this payment, numbered when it is first issued (documents.py).
    receipt_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    receipt_issued_on: Mapped[date | None] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # What went back of this payment, as Stripe confirmed it (charge.refunded). For the payment
    # that settled the order, the same as the order's refunded_minor.
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    status: Mapped[str] = mapped_column(status_type(PAYMENT_STATUSES, length=16), default="open")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")
    recorded_by: Mapped[User | None] = relationship()

    def transition(self, new_status: str, moment: datetime) -> None:
        _check_move(self, PAYMENT_TRANSITIONS, new_status)
        self.status = new_status
        self.updated_at = moment

    @staticmethod
    def moved_to(new_status: str, moment: datetime):
        """An UPDATE moving payments to `new_status` from only the statuses that may reach it
        (the caller adds which rows): for a conditional write whose row count decides."""
        return (
            update(Payment)
            .where(Payment.status.in_(_sources(PAYMENT_TRANSITIONS, new_status)))
            .values(status=new_status, updated_at=moment)
        )


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("provider", "refund_id", name="uq_refunds_provider_refund_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # The payment this gives money back of: the one that settled the order, or one of a
    # subscription's later payments (each refunded on its own).
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    refund_id: Mapped[str | None] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(status_type(REFUND_STATUSES, length=16), default="pending")
    reason: Mapped[str] = mapped_column(String(300), default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="refunds")
    payment: Mapped[Payment | None] = relationship()

    def transition(self, new_status: str, moment: datetime) -> None:
        _check_move(self, REFUND_TRANSITIONS, new_status)
        self.status = new_status
        if new_status == "succeeded":
            self.settled_at = moment

    @staticmethod
    def moved_to(new_status: str):
        """An UPDATE moving refunds to `new_status` from only the statuses that may reach it."""
        return (
            update(Refund)
            .where(Refund.status.in_(_sources(REFUND_TRANSITIONS, new_status)))
            .values(status=new_status)
        )


class Subscription(db.Model):
    """A subscription at the provider that an order started: billed at the order's interval
    until it ends, each renewal a payment of the order."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(f"provider IN {sql_in(PROVIDERS)}", name="provider_known"),
        CheckConstraint(f"billing_interval IN {sql_in(INTERVALS)}", name="billing_interval_known"),
        UniqueConstraint(
            "provider", "subscription_id", name="uq_subscriptions_provider_subscription_id"
        ),
        CheckConstraint("amount_minor IS NULL OR amount_minor > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    subscription_id: Mapped[str] = mapped_column(String(255))
    billing_interval: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(
        status_type(SUBSCRIPTION_STATUSES, length=16), default="active"
    )
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    # What each invoice from now on charges, once changed after the checkout (None: the order's
    # amount), and whether collection is paused at the provider (no invoice is charged).
    amount_minor: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="subscriptions")

    @property
    def charge_minor(self) -> int:
        """What the next invoice charges."""
        return self.amount_minor or self.order.amount_minor

    def transition(self, new_status: str, moment: datetime) -> None:
        _check_move(self, SUBSCRIPTION_TRANSITIONS, new_status)
        self.status = new_status
        self.updated_at = moment
        if new_status == "ended":
            self.ended_at = moment


class WebhookEvent(db.Model):
    """Every event the webhook accepted, once: the unique event id makes a repeat a no-op."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(80))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(80), default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
