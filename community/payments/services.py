"""The payments rules: orders priced on the server, checkouts at Stripe, and the webhook events
that record what happened, each exactly once.

A webhook event is recorded under its unique id in the same transaction as its effect; a repeat
finds the id taken and changes nothing. Orders are locked by writing to their row first, so two
deliveries at the same moment apply one after the other, and an order already paid stays paid
whatever order the events arrive in. Amount and currency from Stripe must match the order.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from community.core.db import begin_write, db, utcnow
from community.core.errors import Busy, DomainError
from community.core.money import format_money, is_known_currency
from community.payments.fulfilment import fulfilment_for
from community.payments.gateway import (
    MINIMUM_CHARGE,
    CheckoutSession,
    GatewayError,
    StripeGateway,
    WebhookEventData,
    session_from_event_object,
)
from community.payments.models import Order, Payment, Refund, WebhookEvent

log = logging.getLogger(__name__)

__all__ = [
    "apply_event",
    "close_checkouts",
    "gateway",
    "open_order",
    "paid_order_for",
    "reconcile",
    "refund_order",
    "start_checkout",
    "sync_checkouts",
]

HANDLED_LATER = {
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}


def gateway():
    """Stripe when STRIPE_SECRET_KEY is set; else the offline sandbox (never in production)."""
    config = current_app.config
    if config.get("STRIPE_SECRET_KEY"):
        return StripeGateway(
            config["STRIPE_SECRET_KEY"],
            config["STRIPE_WEBHOOK_SECRET"],
            config["STRIPE_API_BASE"],
            timeout=config.get("STRIPE_TIMEOUT_SECONDS", 10),
            retries=config.get("STRIPE_NETWORK_RETRIES", 2),
        )
    if config.get("PAYMENTS_SANDBOX"):
        from community.payments.sandbox import SandboxGateway

        return SandboxGateway()
    return None


# --- orders and checkouts ------------------------------------------------------------------------


def open_order(
    *,
    purpose: str,
    reference: str,
    amount_minor: int,
    currency: str,
    email: str,
    description: str,
    expires_at: datetime | None = None,
    user_id: int | None = None,
    mode: str = "payment",
) -> Order:
    """The pending order for this purchase, made once: a second call returns the same order."""
    currency = currency.upper()
    if not is_known_currency(currency):
        raise DomainError(_l("This currency is not accepted."), field="currency")
    minimum = MINIMUM_CHARGE.get(currency, 50)
    if amount_minor < minimum:
        raise DomainError(
            _l(
                "Card payments start at %(amount)s.",
                amount=format_money(minimum, currency, "en"),
            ),
            field="amount",
        )
    existing = _pending_order(purpose, reference)
    if existing is not None:
        return existing
    order = Order(
        purpose=purpose,
        reference=reference,
        amount_minor=amount_minor,
        currency=currency,
        buyer_email=email,
        buyer_user_id=user_id,
        description=description[:300],
        expires_at=expires_at,
        mode=mode,
        status="pending",
        refunded_minor=0,
    )
    db.session.add(order)
    try:
        db.session.commit()
    except IntegrityError:
        # Another request opened it at the same moment: the partial unique index kept one.
        db.session.rollback()
        return _pending_order(purpose, reference)
    return order


def _pending_order(purpose: str, reference: str) -> Order | None:
    return db.session.scalar(
        select(Order).where(
            Order.purpose == purpose, Order.reference == reference, Order.status == "pending"
        )
    )


def start_checkout(order: Order, *, success_url: str, cancel_url: str) -> str:
    """Where to send the buyer to pay: the order's open session, or a new one at Stripe."""
    if order.status != "pending":
        raise DomainError(_l("This order is not waiting for a payment."))
    open_payment = next((p for p in order.payments if p.status == "open"), None)
    if open_payment is not None and (
        open_payment.expires_at is None or open_payment.expires_at > utcnow()
    ):
        return open_payment.checkout_url
    stripe = gateway()
    if stripe is None:
        raise DomainError(_l("Card payments are not available right now."))
    attempt = len(order.payments) + 1
    try:
        session = stripe.create_checkout_session(
            mode=order.mode,
            amount_minor=order.amount_minor,
            currency=order.currency,
            name=order.description or order.purpose,
            email=order.buyer_email,
            order_id=order.id,
            purpose=order.purpose,
            reference=order.reference,
            expires_at=order.expires_at,
            success_url=success_url,
            cancel_url=cancel_url,
            # Our own ids: a retried request (or a double click) reuses Stripe's answer.
            idempotency_key=f"order-{order.id}-checkout-{attempt}",
        )
    except GatewayError as error:
        log.warning("checkout for order %s failed: %s", order.id, error)
        raise DomainError(
            _l("The payment page could not be opened. Please try again in a moment.")
        ) from error
    db.session.add(
        Payment(
            order_id=order.id,
            provider=stripe.provider,
            session_id=session.id,
            checkout_url=session.url,
            amount_minor=order.amount_minor,
            currency=order.currency,
            status="open",
            expires_at=session.expires_at,
        )
    )
    db.session.commit()
    return session.url


def close_checkouts(purpose: str, reference: str) -> str:
    """Close the open checkouts of this purchase at Stripe before what it holds is released.

    Returns "closed" (nothing can be paid any more), "paid" (a session had been paid: it is
    applied now, as its webhook would), or "unknown" (Stripe did not answer: try again later).
    """
    order = _pending_order(purpose, reference)
    if order is None:
        return "closed"
    open_sessions = [p.session_id for p in order.payments if p.status == "open"]
    stripe = gateway()
    if not open_sessions or stripe is None:
        return "closed"
    for session_id in open_sessions:
        try:
            session = stripe.expire_session(session_id)
        except GatewayError:
            # Stripe refuses to expire a session that is no longer open: see what became of it.
            try:
                session = stripe.retrieve_session(session_id)
            except GatewayError:
                return "unknown"
        if session.status == "complete" and session.payment_status == "paid":
            apply_session(session, stripe.provider)
            return "paid"
        if session.status != "expired":
            return "unknown"
    return "closed"


def sync_checkouts(purpose: str, reference: str) -> bool:
    """Re-read this purchase's open checkouts from Stripe (when the buyer comes back from it) and
    apply a paid one at once; the browser coming back proves nothing by itself."""
    order = _pending_order(purpose, reference)
    stripe = gateway()
    if order is None or stripe is None:
        return False
    for session_id in [p.session_id for p in order.payments if p.status == "open"]:
        try:
            session = stripe.retrieve_session(session_id)
        except GatewayError:
            return False  # the webhook will tell us
        if session.status == "complete" and session.payment_status == "paid":
            apply_session(session, stripe.provider)
            return True
    return False


def apply_session(session: CheckoutSession, provider: str) -> str:
    """Apply a session read from Stripe (the same effect as its webhook, which may come later)."""
    after_commit = []
    if db.session().in_transaction():
        db.session.rollback()  # a read snapshot taken before Stripe answered may be stale
    try:
        begin_write(db.session)
        outcome, _ = _paid(session, provider, after_commit)
        db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        raise Busy(_l("We are very busy right now. Please try again in a moment.")) from error
    for action in after_commit:
        action()
    return outcome


# --- refunds -------------------------------------------------------------------------------------


def paid_order_for(purpose: str, reference: str) -> Order | None:
    """The paid (or partly refunded) order of this purchase, if there is one."""
    return db.session.scalar(
        select(Order)
        .where(
            Order.purpose == purpose,
            Order.reference == reference,
            Order.status.in_(("paid", "partially_refunded")),
        )
        .order_by(Order.id.desc())
    )


def refund_order(
    order: Order, amount_minor: int | None = None, *, reason: str = "", by_user_id=None
) -> Refund:
    """Ask Stripe to give money back (all of what is left, or `amount_minor`).

    The refund is recorded as pending with our own id, which is also Stripe's idempotency key;
    the order changes only when Stripe confirms it (charge.refunded).
    """
    if order.status not in ("paid", "partially_refunded"):
        raise DomainError(_l("Only a paid order can be refunded."))
    pending = sum(r.amount_minor for r in order.refunds if r.status == "pending")
    refundable = order.amount_minor - order.refunded_minor - pending
    amount = refundable if amount_minor is None else amount_minor
    if amount <= 0 or amount > refundable:
        raise DomainError(
            _l(
                "Give an amount above zero and at most %(amount)s.",
                amount=format_money(refundable, order.currency, "en"),
            ),
            field="amount",
        )
    payment = next((p for p in order.payments if p.status == "paid"), None)
    stripe = gateway()
    if payment is None or not payment.payment_intent_id or stripe is None:
        raise DomainError(_l("This payment cannot be refunded online."))
    refund = Refund(
        order_id=order.id,
        provider=payment.provider,
        amount_minor=amount,
        status="pending",
        reason=reason[:300],
        requested_by_id=by_user_id,
    )
    db.session.add(refund)
    db.session.commit()
    try:
        result = stripe.create_refund(
            payment_intent=payment.payment_intent_id,
            amount_minor=amount,
            idempotency_key=f"refund-{refund.id}",
        )
    except GatewayError as error:
        refund.status = "failed"
        db.session.commit()
        raise DomainError(
            _l("The refund could not be made at the payment provider. Please try again.")
        ) from error
    refund.refund_id = result.id
    db.session.commit()
    return refund


def _refunded(charge: dict, provider: str, after_commit: list) -> tuple[str, int | None]:
    intent = charge.get("payment_intent")
    intent = intent.get("id") if isinstance(intent, dict) else intent
    payment = db.session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.payment_intent_id == intent)
    )
    if payment is None:
        log.error("refund for an unknown payment intent %s", intent)
        return "unknown payment", None
    db.session.execute(
        update(Order).where(Order.id == payment.order_id).values(status=Order.status)
    )
    order = db.session.get(Order, payment.order_id, populate_existing=True)
    refunded = min(int(charge.get("amount_refunded") or 0), order.amount_minor)
    if refunded <= order.refunded_minor:
        return "already recorded", order.id
    moment = utcnow()
    settled = 0
    for refund in order.refunds:
        if refund.status == "pending" and order.refunded_minor + settled + refund.amount_minor <= (
            refunded
        ):
            refund.status = "succeeded"
            refund.settled_at = moment
            settled += refund.amount_minor
    rest = refunded - order.refunded_minor - settled
    if rest > 0:  # refunded at Stripe directly, not through us
        db.session.add(
            Refund(
                order_id=order.id,
                provider=provider,
                amount_minor=rest,
                status="succeeded",
                reason="refunded at the payment provider",
                settled_at=moment,
            )
        )
    order.refunded_minor = refunded
    full = refunded == order.amount_minor
    order.transition("refunded" if full else "partially_refunded", moment)
    handler = fulfilment_for(order.purpose)
    if handler is not None:
        action = handler.refunded(order, refunded, full)
        if action is not None:
            after_commit.append(action)
    return ("refunded" if full else "partially refunded"), order.id


# --- webhook events ------------------------------------------------------------------------------


def apply_event(event: WebhookEventData, provider: str = "stripe") -> str:
    """Record a verified event once and apply its effect in the same transaction.

    Returns what happened ("duplicate", "paid", "ignored", …) for the log and the tests. A lock
    timeout raises Busy: the caller answers 503 and Stripe delivers again later.
    """
    after_commit = []
    try:
        begin_write(db.session)
        db.session.add(
            WebhookEvent(
                provider=provider,
                event_id=event.id,
                type=event.type,
                payload={"object": event.object},
            )
        )
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return "duplicate"
        outcome, order_id = _dispatch(event, provider, after_commit)
        db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.provider == provider, WebhookEvent.event_id == event.id)
            .values(outcome=outcome, order_id=order_id)
        )
        db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        raise Busy(_l("We are very busy right now. Please try again in a moment.")) from error
    except Exception:
        db.session.rollback()
        raise
    for action in after_commit:
        action()
    return outcome


def _dispatch(event: WebhookEventData, provider: str, after_commit: list) -> tuple[str, int | None]:
    kind = event.type
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        session = session_from_event_object(event.object)
        if kind == "checkout.session.completed" and session.payment_status != "paid":
            return "awaiting asynchronous payment", _order_id_of(session)
        return _paid(session, provider, after_commit)
    if kind == "checkout.session.async_payment_failed":
        session = session_from_event_object(event.object)
        return _closed(session, provider, "failed", after_commit)
    if kind == "checkout.session.expired":
        session = session_from_event_object(event.object)
        return _closed(session, provider, "expired", after_commit)
    if kind == "charge.refunded":
        return _refunded(event.object, provider, after_commit)
    if kind in HANDLED_LATER:
        return "recorded", None
    return "ignored", None


def _order_id_of(session: CheckoutSession) -> int | None:
    raw = session.client_reference_id or session.metadata.get("order_id")
    return int(raw) if raw and str(raw).isdigit() else None


def _locked_order(session: CheckoutSession, provider: str) -> tuple[Order | None, Payment | None]:
    """The order and payment a session belongs to, the order's row locked by a write."""
    order_id = _order_id_of(session)
    payment = db.session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.session_id == session.id)
    )
    if order_id is None or payment is None or payment.order_id != order_id:
        return None, None
    db.session.execute(update(Order).where(Order.id == order_id).values(status=Order.status))
    order = db.session.get(Order, order_id, populate_existing=True)
    return order, payment


def _paid(session: CheckoutSession, provider: str, after_commit: list) -> tuple[str, int | None]:
    order, payment = _locked_order(session, provider)
    if order is None:
        log.error("payment for an unknown order: session %s", session.id)
        return "unknown order", None
    if session.amount_total != order.amount_minor or session.currency != order.currency:
        log.error(
            "order %s: Stripe says %s %s, the order says %s %s",
            order.id,
            session.amount_total,
            session.currency,
            order.amount_minor,
            order.currency,
        )
        return "amount mismatch", order.id
    if order.status != "pending":
        return f"already {order.status}", order.id
    moment = utcnow()
    order.transition("paid", moment)
    payment.status = "paid"
    payment.payment_intent_id = session.payment_intent
    payment.updated_at = moment
    handler = fulfilment_for(order.purpose)
    if handler is None:
        log.error("order %s paid for purpose %r, which nobody fulfils", order.id, order.purpose)
        return "paid, no fulfilment", order.id
    fulfilled, action = handler.paid(order)
    if action is not None:
        after_commit.append(action)
    return ("paid" if fulfilled else "paid, not fulfilled"), order.id


def _closed(
    session: CheckoutSession, provider: str, status: str, after_commit: list
) -> tuple[str, int | None]:
    order, payment = _locked_order(session, provider)
    if order is None:
        return "unknown order", None
    payment.status = status
    payment.updated_at = utcnow()
    if order.status != "pending":
        return f"already {order.status}", order.id
    if any(p.status == "open" for p in order.payments):
        return f"attempt {status}", order.id  # another attempt may still be paid
    order.transition(status, utcnow())
    handler = fulfilment_for(order.purpose)
    if handler is not None:
        action = handler.expired(order)
        if action is not None:
            after_commit.append(action)
    return status, order.id


# --- reconcile -----------------------------------------------------------------------------------


def reconcile(since: datetime) -> list[tuple[str, str, str]]:
    """Replay Stripe's events since `since` through the same code as the webhook.

    Events already recorded are no-ops (their ids are taken), so it can run at any time, as
    often as wanted; what the database had missed (lost webhooks) is applied once. Returns the
    (event id, type, outcome) of what changed.
    """
    stripe = gateway()
    if stripe is None or stripe.provider != "stripe":
        return []
    changed = []
    for event in stripe.list_events(since):
        outcome = apply_event(event, stripe.provider)
        if outcome not in ("duplicate", "ignored"):
            changed.append((event.id, event.type, outcome))
    # Then the sessions themselves, in case an event is missing from the list Stripe keeps.
    open_ids = set(
        db.session.scalars(
            select(Payment.session_id).where(
                Payment.provider == stripe.provider, Payment.status == "open"
            )
        )
    )
    for session in stripe.list_sessions(since):
        paid = session.status == "complete" and session.payment_status == "paid"
        if paid and session.id in open_ids:
            outcome = apply_session(session, stripe.provider)
            changed.append((session.id, "checkout.session", outcome))
    return changed
