"""The payments ledger: orders, payment attempts, refunds, and every webhook event received.

Amounts are integers in the currency's minor unit with an ISO 4217 code. Provider ids are unique,
so the same session, payment intent, refund or event can never be recorded twice. Statuses move
only through `transition()`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.core.db import UTCDateTime, db, utcnow

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
REFUND_STATUSES = ("pending", "succeeded", "failed")
MODES = ("payment", "subscription")
PROVIDERS = ("stripe", "sandbox")


class IllegalTransition(Exception):
    """A status change the ledger does not allow (a programming error, not user input)."""


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(ORDER_STATUSES)}", name="status_known"),
        CheckConstraint(f"mode IN {_in(MODES)}", name="mode_known"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("refunded_minor >= 0", name="refunded_not_negative"),
        CheckConstraint("refunded_minor <= amount_minor", name="refunded_within_amount"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
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
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="pending")
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

    def transition(self, new_status: str, moment: datetime) -> None:
        if new_status not in ORDER_TRANSITIONS.get(self.status, set()):
            raise IllegalTransition(f"order {self.id}: {self.status} → {new_status}")
        self.status = new_status
        if new_status == "paid":
            self.paid_at = moment
        if new_status in ("expired", "failed"):
            self.closed_at = moment


class Payment(db.Model):
    """One attempt to pay an order: a Checkout Session at Stripe (or in the sandbox)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(PAYMENT_STATUSES)}", name="status_known"),
        CheckConstraint(f"provider IN {_in(PROVIDERS)}", name="provider_known"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        UniqueConstraint("provider", "session_id", name="uq_payments_provider_session_id"),
        UniqueConstraint(
            "provider", "payment_intent_id", name="uq_payments_provider_payment_intent_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str] = mapped_column(String(255))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    checkout_url: Mapped[str] = mapped_column(String(2000), default="")
    # Stripe's page for the charge (kept up to date with its refunds), read from the payment
    # intent once it is paid; the buyer's link to their receipt.
    receipt_url: Mapped[str | None] = mapped_column(String(2000))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="open")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(REFUND_STATUSES)}", name="status_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("provider", "refund_id", name="uq_refunds_provider_refund_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    refund_id: Mapped[str | None] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(String(300), default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="refunds")


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
