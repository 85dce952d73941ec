"""The payments rules: orders priced on the server, checkouts at Stripe, and the webhook events
that record what happened, each exactly once.

A webhook event is recorded under its unique id in the same transaction as its effect; a repeat
finds the id taken and changes nothing. Orders are locked by writing to their row first, so two
deliveries at the same moment apply one after the other, and an order already paid stays paid
whatever order the events arrive in (a late failure or expiry never undoes a payment). Amount
and currency from Stripe must match the order. Money that arrives for what its purpose can no
longer give (the handler answers "not fulfilled") is refunded in full, decided in the same
transaction as the event that brought it; refunds are asked of Stripe with our refund's id as
idempotency key, and one Stripe did not answer is asked again by reconcile; the buyer is told
of each refund once (the purpose's handler, or the caller in its own words). The receipt is
Stripe's own (the charge's receipt_url), read once the payment is recorded.

Money that no webhook reports (a bank transfer against the order's invoice) is recorded by an
administrator through `record_payment`, which settles the order with the same code as a paid
checkout (`_settle`: the order's row locked by a write first, its purpose's `paid` run once) and
refuses a second payment of an order, or one of another amount. A subscription started by a
checkout gets a row of its own; its later invoices and changes (`invoice.paid`,
`invoice.payment_failed`, `customer.subscription.updated` and `.deleted`) are applied to it and
told to the purpose's handler as renewed, past due, changed or ended, each once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from community.core.dates import zone
from community.core.db import db, utcnow
from community.core.errors import Busy, Conflict, DomainError, NotFound
from community.core.i18n import current_language
from community.core.money import format_money, is_known_currency
from community.core.transaction import after_commit, write_transaction
from community.core.urls import MAX_ID
from community.core.worker import runs_in_process
from community.payments.documents import (
    INVOICE_SERIES,
    RECEIPT_SERIES,
    community_today,
    take_number,
)
from community.payments.fulfilment import fulfilment_for
from community.payments.gateway import (
    MINIMUM_CHARGE,
    CheckoutSession,
    GatewayError,
    InvoiceData,
    MalformedEvent,
    StripeGateway,
    SubscriptionData,
    WebhookEventData,
    invoice_from_event_object,
    refunded_charge_from_event_object,
    session_from_event_object,
    subscription_from_event_object,
)
from community.payments.models import (
    INTERVALS,
    Order,
    Payment,
    Refund,
    Subscription,
    WebhookEvent,
)
from community.payments.providers import BANK_TRANSFER, Provider
from community.payments.sandbox import SandboxGateway

log = logging.getLogger(__name__)

__all__ = [
    "apply_event",
    "cancel_subscription",
    "change_subscription_amount",
    "close_checkouts",
    "gateway",
    "issue_invoice",
    "issue_receipt",
    "open_order",
    "order_by_id",
    "orders_for",
    "paid_order_for",
    "pause_subscription",
    "reconcile",
    "record_bank_transfer",
    "record_payment",
    "refund_order",
    "refundable_for",
    "refundable_minor",
    "refundable_payments",
    "retry_refunds",
    "set_subscription_renewal",
    "start_checkout",
    "store_receipt",
    "subscription_of",
    "sync_checkouts",
    "unpaid_subscription_url",
]

ALREADY_REFUNDED = _l("This payment is already refunded in full (or its refund is on its way).")

SUBSCRIPTION_EVENTS = {
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}
# What each of Stripe's subscription statuses is in our ledger; "incomplete" (its first invoice
# not paid yet) is not a subscription of ours yet: its checkout decides.
SUBSCRIPTION_STATUS_OF = {
    "active": "active",
    "trialing": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "paused": "past_due",
    "canceled": "ended",
    "incomplete_expired": "ended",
}
ALREADY_PAID = _l("This order is already paid: a second payment is not recorded.")


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
    interval: str | None = None,
) -> Order:
    """The pending order for this purchase, made once: a second call returns the same order.

    A subscription (`mode="subscription"`) is billed every `interval` ("month", the default, or
    "year"). Written in the caller's unit of work when there is one (a domain that points its
    own row at the order in the same transaction), else in one of its own."""
    currency = currency.upper()
    if mode == "subscription":
        interval = interval or "month"
        if interval not in INTERVALS:
            raise DomainError(_l("A subscription is paid monthly or yearly."), field="interval")
    else:
        interval = None
    if not is_known_currency(currency):
        raise DomainError(_l("This currency is not accepted."), field="currency")
    minimum = MINIMUM_CHARGE.get(currency, 50)
    if amount_minor < minimum:
        raise DomainError(
            _l(
                "Card payments start at %(amount)s.",
                amount=format_money(minimum, currency, current_language()),
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
        billing_interval=interval,
        status="pending",
        refunded_minor=0,
    )
    try:
        with write_transaction():
            db.session.add(order)
    except IntegrityError:
        # Another request opened it at the same moment: the partial unique index kept one.
        return _pending_order(purpose, reference)
    return order


def order_by_id(order_id: int) -> Order | None:
    return db.session.get(Order, order_id)


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
            interval=order.billing_interval,
        )
    except GatewayError as error:
        log.warning("checkout for order %s failed: %s", order.id, error)
        raise DomainError(
            _l("The payment page could not be opened. Please try again in a moment.")
        ) from error
    try:
        with write_transaction():
            db.session.add(
                Payment(
                    order_id=order.id,
                    provider=stripe.provider,
                    kind=stripe.payment_kind,
                    session_id=session.id,
                    checkout_url=session.url,
                    amount_minor=order.amount_minor,
                    currency=order.currency,
                    status="open",
                    expires_at=session.expires_at,
                )
            )
    except IntegrityError:
        # A second click at the same moment got the same session (the same idempotency key)
        # and recorded it first: both go to the same page.
        pass
    return session.url


def close_checkouts(purpose: str, reference: str) -> str:
    """Close the open checkouts of this purchase at Stripe before what it holds is released.

    The pending order is closed in our ledger first (its row locked by a write; no handler runs),
    so the `checkout.session.expired` that Stripe sends back cannot release the purchase by
    itself while the caller is still deciding what becomes of it (a cancellation). Then each open
    session is expired at Stripe. Returns "closed" (nothing can be paid any more), "paid" (a
    session had been paid: it is applied now, as its webhook would, and the payment wins),
    "processing" (the buyer finished with a delayed payment method: if that money arrives and
    the purchase can no longer be given, it is refunded), or "unknown" (Stripe did not answer:
    ask again later).
    """
    session_ids = _close_order_first(purpose, reference)
    stripe = gateway()
    if not session_ids or stripe is None:
        return "closed"
    outcome = "closed"
    for session_id in session_ids:
        try:
            session = stripe.expire_session(session_id)
        except GatewayError:
            # Stripe refuses to expire a session that is no longer open: see what became of it.
            try:
                session = stripe.retrieve_session(session_id)
            except GatewayError:
                outcome = "unknown"
                continue
        if session.status == "complete" and session.payment_status == "paid":
            apply_session(session, stripe.provider)
            return "paid"
        if session.status == "expired":
            _expire_attempt(session_id, stripe.provider)
        elif session.status == "complete" and outcome == "closed":
            outcome = "processing"
        elif session.status != "complete":
            outcome = "unknown"
    return outcome


def _close_order_first(purpose: str, reference: str) -> list[str]:
    """Close the purchase's pending order in the ledger (no handler: the caller decides what
    becomes of what it held) and list the sessions still open at Stripe, of any of its orders."""
    with write_transaction():  # a read snapshot taken earlier may be stale: a fresh one
        order = _pending_order(purpose, reference)
        if order is not None:
            db.session.execute(
                update(Order).where(Order.id == order.id).values(status=Order.status)
            )
            order = db.session.get(Order, order.id, populate_existing=True)
            if order.status == "pending":
                order.transition("expired", utcnow())
        session_ids = list(_open_session_ids(purpose, reference))
    return session_ids


def _open_session_ids(purpose: str, reference: str):
    return db.session.scalars(
        select(Payment.session_id)
        .join(Order, Order.id == Payment.order_id)
        .where(
            Order.purpose == purpose,
            Order.reference == reference,
            Payment.status == "open",
        )
        .order_by(Payment.id)
    )


def _expire_attempt(session_id: str, provider: str) -> None:
    """Stripe says this session is expired: so is our attempt (a paid one stays paid)."""
    with write_transaction():
        db.session.execute(
            Payment.moved_to("expired", utcnow()).where(
                Payment.provider == provider,
                Payment.session_id == session_id,
                Payment.status == "open",
            )
        )


def sync_checkouts(purpose: str, reference: str) -> bool:
    """Re-read this purchase's open checkouts from Stripe (when the buyer comes back from it) and
    apply a paid one at once; the browser coming back proves nothing by itself."""
    stripe = gateway()
    if stripe is None:
        return False
    for session_id in list(_open_session_ids(purpose, reference)):
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
    with write_transaction():  # a read snapshot taken before Stripe answered may be stale
        outcome, _ = _paid(session, provider)
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


def orders_for(purpose: str, reference: str) -> list[Order]:
    """Every order of this purchase, newest first, with its payments and refunds."""
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.purpose == purpose, Order.reference == reference)
            .options(selectinload(Order.payments), selectinload(Order.refunds))
            .order_by(Order.id.desc())
        )
    )


def refundable_for(purpose: str, references: list[str]) -> dict[str, int]:
    """What can still be given back for each of these purchases (those with nothing left to
    refund are left out): one query for a whole list, such as an event's attendees."""
    left: dict[str, int] = {}
    for start in range(0, len(references), 500):
        orders = db.session.scalars(
            select(Order)
            .where(
                Order.purpose == purpose,
                Order.reference.in_(references[start : start + 500]),
                Order.status.in_(("paid", "partially_refunded")),
            )
            .options(selectinload(Order.refunds), selectinload(Order.payments))
        )
        for order in orders:
            amount = refundable_minor(order)
            if amount > 0:
                left[order.reference] = left.get(order.reference, 0) + amount
    return left


def refundable_minor(order: Order, payment: Payment | None = None) -> int:
    """What can still be given back of the payment that settled the order (or of `payment`, one
    of a subscription's later ones): paid, less refunded, less refunds on their way (never below
    zero, even while a refund made at the same moment elsewhere is being recorded)."""
    if payment is not None and payment.kind == "renewal":
        pending = sum(
            r.amount_minor
            for r in order.refunds
            if r.status == "pending" and r.payment_id == payment.id
        )
        return max(payment.amount_minor - payment.refunded_minor - pending, 0)
    renewals = {p.id for p in order.payments if p.kind == "renewal"}
    pending = sum(
        r.amount_minor
        for r in order.refunds
        if r.status == "pending" and r.payment_id not in renewals
    )
    return max(order.amount_minor - order.refunded_minor - pending, 0)


def refundable_payments(order: Order) -> list[tuple[Payment, int]]:
    """Each paid payment of the order that money can still go back of, with how much: the one
    that settled it, then a subscription's later ones (whether it can go back online is the
    refund's own rule)."""
    found = []
    for payment in order.payments:
        if payment.status != "paid":
            continue
        if payment.kind != "renewal" and order.status not in ("paid", "partially_refunded"):
            continue
        amount = refundable_minor(order, payment)
        if amount > 0:
            found.append((payment, amount))
    return found


def refund_order(
    order: Order,
    amount_minor: int | None = None,
    *,
    reason: str = "",
    by_user_id=None,
    interactive: bool = True,
    tell_buyer: bool = True,
    payment_id: int | None = None,
) -> Refund:
    """Ask Stripe to give money back (all of what is left, or `amount_minor`) of the payment
    that settled the order, or of `payment_id`: one of a subscription's later payments (a
    monthly gift's third month), each refunded on its own.

    The refund is recorded as pending with our own id, which is also Stripe's idempotency key,
    under the order's row lock (taken by writing first), so two refunds asked at the same moment
    never give back more than was paid. The order changes only when Stripe confirms it
    (charge.refunded).

    Every refund tells the buyer once: the purpose's handler (`refund_started`) does, once the
    refund is on its way (Stripe accepted it, or did not answer and reconcile asks again; never
    when Stripe refused it) — unless the caller tells in its own words (`tell_buyer=False`: a
    cancellation whose e-mail says what becomes of the money). Not `interactive` (several refunds
    in a row, as when an event is cancelled): what Stripe said is in the returned refund (failed,
    or pending without a provider id), never raised.
    """
    refund_id = _record_refund(
        order.id, amount_minor, reason=reason, by_user_id=by_user_id, payment_id=payment_id
    )
    tell = _buyer_news(refund_id) if tell_buyer else None
    try:
        refund = _send_refund(refund_id, interactive=interactive)
    except DomainError:
        stored = db.session.get(Refund, refund_id, populate_existing=True)
        if tell is not None and stored is not None and stored.status == "pending":
            tell()  # recorded and asked for again automatically: it is on its way
        raise
    if tell is not None and refund is not None and refund.status != "failed":
        tell()
    return refund


def _buyer_news(refund_id: int):
    """The purpose's way of telling the buyer of this refund, decided before Stripe is asked
    (whose answer may already change what was bought), or None."""
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    order = db.session.get(Order, refund.order_id, populate_existing=True)
    db.session.expire(order, ["refunds", "payments"])
    handler = fulfilment_for(order.purpose)
    if handler is None or handler.refund_started is None:
        return None
    return handler.refund_started(order, refund.amount_minor)


NO_SUCH_PAYMENT = _l("This order has no such payment to refund.")


def _record_refund(
    order_id: int,
    amount_minor: int | None,
    *,
    reason: str,
    by_user_id: int | None,
    payment_id: int | None = None,
) -> int:
    with write_transaction():  # what the caller read may be stale: the lock re-reads it
        db.session.execute(update(Order).where(Order.id == order_id).values(status=Order.status))
        order = db.session.get(Order, order_id, populate_existing=True)
        if order is None:
            raise DomainError(_l("Only a paid order can be refunded."))
        db.session.expire(order, ["refunds", "payments"])
        payment = _refunded_payment(order, payment_id)
        if payment is None or payment.kind != "renewal":
            if order.status == "refunded":
                raise DomainError(ALREADY_REFUNDED)
            if order.status not in ("paid", "partially_refunded"):
                raise DomainError(_l("Only a paid order can be refunded."))
        refundable = refundable_minor(order, payment)
        if refundable == 0:
            raise DomainError(ALREADY_REFUNDED)
        amount = refundable if amount_minor is None else amount_minor
        if amount <= 0 or amount > refundable:
            raise DomainError(
                _l(
                    "Give an amount above zero and at most %(amount)s.",
                    amount=format_money(refundable, order.currency, current_language()),
                ),
                field="amount",
            )
        if not _refundable_online(payment):
            raise DomainError(_l("This payment cannot be refunded online."))
        refund = Refund(
            order_id=order.id,
            payment_id=payment.id,
            provider=payment.provider,
            amount_minor=amount,
            status="pending",
            reason=reason[:300],
            requested_by_id=by_user_id,
        )
        db.session.add(refund)
    return refund.id


def _settling_payment(order: Order) -> Payment | None:
    """The paid payment that settled the order (a subscription's renewals come on top)."""
    return next((p for p in order.payments if p.status == "paid" and p.kind != "renewal"), None)


def _refunded_payment(order: Order, payment_id: int | None) -> Payment | None:
    """The payment a refund is asked of: the one named (it must be a paid one of this order),
    else the one that settled the order."""
    if payment_id is None:
        return _settling_payment(order)
    payment = next((p for p in order.payments if p.id == payment_id), None)
    if payment is None or payment.status != "paid":
        raise DomainError(NO_SUCH_PAYMENT)
    return payment


def _refundable_online(payment: Payment | None) -> bool:
    """Whether Stripe (or the sandbox) can give this payment back: it is the gateway's, and it
    names its payment intent or the invoice it paid (whose intent is asked for then)."""
    stripe = gateway()
    return (
        payment is not None
        and stripe is not None
        and stripe.provider == payment.provider
        and bool(payment.payment_intent_id or payment.invoice_id)
    )


def _send_refund(refund_id: int, *, interactive: bool) -> Refund:
    """Ask Stripe for a refund recorded as pending; its id is the idempotency key, so asking
    again (a retry, two workers at once) never refunds twice. Without a clear answer it stays
    pending and unsent, and `retry_refunds` (run by reconcile) asks again."""
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    if refund is None or refund.status != "pending" or refund.refund_id:
        return refund
    payment = refund.payment or _settling_payment(refund.order)
    stripe = gateway()
    if not _refundable_online(payment) or stripe.provider != refund.provider:
        log.error("refund %s cannot be sent: no paid payment or no gateway", refund.id)
        return refund
    try:
        intent = payment.payment_intent_id or _intent_of_invoice(stripe, payment)
        if intent is None:
            raise GatewayError(f"invoice {payment.invoice_id} has no payment", transient=False)
        result = stripe.create_refund(
            payment_intent=intent,
            amount_minor=refund.amount_minor,
            idempotency_key=f"refund-{refund.id}",
        )
    except GatewayError as error:
        if error.transient:
            log.warning("refund %s: no answer from the provider, will retry: %s", refund.id, error)
            if interactive:
                raise DomainError(
                    _l(
                        "The payment provider did not answer in time. The refund is recorded "
                        "and will be asked for again automatically."
                    )
                ) from error
            return refund
        _write_alone(
            Refund.moved_to("failed").where(Refund.id == refund.id, Refund.refund_id.is_(None))
        )
        log.error("refund %s refused by the provider: %s", refund.id, error)
        if interactive:
            raise DomainError(
                _l("The refund could not be made at the payment provider. Please try again.")
            ) from error
        return db.session.get(Refund, refund.id, populate_existing=True)
    _write_alone(
        update(Refund)
        .where(Refund.id == refund.id, Refund.refund_id.is_(None))
        .values(refund_id=result.id)
    )
    return db.session.get(Refund, refund.id, populate_existing=True)


def _intent_of_invoice(stripe, payment: Payment) -> str | None:
    """Ask Stripe which payment intent paid this payment's invoice (a renewal recorded while
    Stripe could not say) and keep it."""
    intent = stripe.invoice_payment_intent(payment.invoice_id)
    if intent is not None:
        _write_alone(
            update(Payment)
            .where(Payment.id == payment.id, Payment.payment_intent_id.is_(None))
            .values(payment_intent_id=intent)
        )
    return intent


def _write_alone(statement) -> None:
    """Record what Stripe said (of a refund, a receipt), in a write transaction of its own (on
    SQLite a read transaction that later writes fails at once when another process writes: BEGIN
    IMMEDIATE waits its turn instead). If the database stays busy the row stays as it was — a
    refund pending and unsent, a receipt unknown — and reconcile asks Stripe again (for a refund
    with the same idempotency key)."""
    try:
        with write_transaction():
            db.session.execute(statement)
    except Busy as error:
        log.warning(
            "Stripe's answer not recorded (the database is busy; reconcile retries): %s", error
        )


def retry_refunds() -> list[int]:
    """Ask Stripe again for every refund recorded but never sent (Stripe did not answer, or the
    process stopped right after the commit). Returns the ids of those that are now sent."""
    stripe = gateway()
    if stripe is None:
        return []
    unsent = db.session.scalars(
        select(Refund.id)
        .where(
            Refund.status == "pending",
            Refund.refund_id.is_(None),
            Refund.provider == stripe.provider,
        )
        .order_by(Refund.id)
    ).all()
    db.session.rollback()
    sent = []
    for refund_id in unsent:
        refund = _send_refund(refund_id, interactive=False)
        if refund is not None and refund.refund_id:
            sent.append(refund_id)
    return sent


def _refund_unfulfilled(order: Order, payment: Payment) -> None:
    """Money arrived for what can no longer be given: all of it goes back, decided in the same
    transaction as the webhook event that brought it (so once), asked of Stripe after commit."""
    refund = Refund(
        order_id=order.id,
        payment_id=payment.id,
        provider=payment.provider,
        amount_minor=order.amount_minor - order.refunded_minor,
        status="pending",
        reason="could no longer be given: refunded in full automatically",
    )
    db.session.add(refund)
    db.session.flush()
    refund_id = refund.id
    after_commit(lambda: _send_refund(refund_id, interactive=False))


def _refunded(charge: dict, provider: str, invoice_id: str | None = None) -> tuple[str, int | None]:
    """Money went back of one payment, as Stripe confirms it (ours, or one made in Stripe's
    dashboard). A payment is found by its payment intent, or (a subscription's payment recorded
    while Stripe could not name its intent) by the invoice it paid, asked of Stripe before this
    transaction (`invoice_id`)."""
    refunded_charge = refunded_charge_from_event_object(charge)
    intent = refunded_charge.payment_intent
    payment = db.session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.payment_intent_id == intent)
    )
    if payment is None and invoice_id is not None:
        payment = db.session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.invoice_id == invoice_id)
        )
    if payment is None:
        log.error("refund for an unknown payment intent %s", intent)
        return "unknown payment", None
    db.session.execute(
        update(Order).where(Order.id == payment.order_id).values(status=Order.status)
    )
    order = db.session.get(Order, payment.order_id, populate_existing=True)
    payment = db.session.get(Payment, payment.id, populate_existing=True)
    if payment.payment_intent_id is None:
        payment.payment_intent_id = intent
    settling = payment.kind != "renewal"
    refunded = min(refunded_charge.amount_refunded, payment.amount_minor)
    if settling:
        refunded = min(refunded, order.amount_minor)
    before = order.refunded_minor if settling else payment.refunded_minor
    if refunded <= before:
        return "already recorded", order.id
    moment = utcnow()
    settled = 0
    for refund in order.refunds:
        # Before refunds named their payment, each was of the one that settled the order.
        of_this = refund.payment_id == payment.id or (settling and refund.payment_id is None)
        if (
            of_this
            and refund.status == "pending"
            and before + settled + refund.amount_minor <= refunded
        ):
            refund.transition("succeeded", moment)
            settled += refund.amount_minor
    rest = refunded - before - settled
    if rest > 0:  # refunded at Stripe directly, not through us
        db.session.add(
            Refund(
                order_id=order.id,
                payment_id=payment.id,
                provider=provider,
                amount_minor=rest,
                status="succeeded",
                reason="refunded at the payment provider",
                settled_at=moment,
            )
        )
    payment.refunded_minor = refunded
    handler = fulfilment_for(order.purpose)
    if handler is not None and rest > 0 and handler.refund_started is not None:
        # Nobody here asked for it, so nobody has told the buyer yet.
        told = handler.refund_started(order, rest)
        if told is not None:
            told()  # in this transaction: the outbox sends it with the refund's record
    if not settling:
        # One of a subscription's later payments: the order (its first payment) is as it was.
        db.session.flush()
        if handler is not None and handler.payment_refunded is not None:
            action = handler.payment_refunded(order, payment)
            if action is not None:
                after_commit(action)
        full = refunded == payment.amount_minor
        return ("renewal refunded" if full else "renewal partially refunded"), order.id
    order.refunded_minor = refunded
    full = refunded == order.amount_minor
    order.transition("refunded" if full else "partially_refunded", moment)
    if handler is not None:
        action = handler.refunded(order, refunded, full)
        if action is not None:
            after_commit(action)
    return ("refunded" if full else "partially refunded"), order.id


# --- webhook events ------------------------------------------------------------------------------


def apply_event(event: WebhookEventData, provider: str = "stripe") -> str:
    """Record a verified event once and apply its effect in the same transaction.

    Returns what happened ("duplicate", "paid", "ignored", …) for the log and the tests. A lock
    timeout raises Busy: the caller answers 503 and Stripe delivers again later.
    """
    latest = _latest_subscription(event)
    asked = _payment_facts(event, provider)
    try:
        with write_transaction():
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
            except IntegrityError as error:
                raise _Duplicate from error
            outcome, order_id = _dispatch(event, provider, latest, asked)
            db.session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.provider == provider, WebhookEvent.event_id == event.id)
                .values(outcome=outcome, order_id=order_id)
            )
    except _Duplicate:
        return "duplicate"
    return outcome


class _Duplicate(Exception):
    """This event's id is taken: it was applied before."""


def _latest_subscription(event: WebhookEventData) -> dict | None:
    """The subscription as the provider has it now, for an event saying it changed: each such
    event carries the subscription as it was when it was sent, and they may arrive late or out
    of order (our own pause then resume, told after both were recorded, would otherwise undo
    the resume). Asked before the event's transaction; None (the event's own copy is applied)
    when the provider cannot be asked."""
    if event.type != "customer.subscription.updated":
        return None
    subscription_id = event.object.get("id")
    provider = gateway()
    if not isinstance(subscription_id, str) or provider is None:
        return None
    try:
        return provider.current_subscription(subscription_id)
    except GatewayError as error:
        log.warning("subscription %s: its latest state not read: %s", subscription_id, error)
        return None


def _payment_facts(event: WebhookEventData, provider: str) -> dict:
    """What an event about a subscription's payment does not say, asked of the provider before
    the event's transaction (since API version 2025-03-31 invoices and charges no longer name
    each other): the payment intent that paid an invoice, or the invoice that a refunded charge
    we do not know paid. Empty when there is nothing to ask or the provider cannot be asked: a
    renewal is then recorded without its intent, which a refund asks for later."""
    stripe = gateway()
    if stripe is None or stripe.provider != provider:
        return {}
    try:
        if event.type == "invoice.paid":
            invoice_id = event.object.get("id")
            if isinstance(invoice_id, str) and event.object.get("amount_paid"):
                return {"payment_intent": stripe.invoice_payment_intent(invoice_id)}
        elif event.type == "charge.refunded":
            intent = refunded_charge_from_event_object(event.object).payment_intent
            if intent is not None:
                known = db.session.scalar(
                    select(Payment.id).where(
                        Payment.provider == provider, Payment.payment_intent_id == intent
                    )
                )
                if known is None:
                    return {"invoice": stripe.invoice_of_payment_intent(intent)}
    except GatewayError as error:
        log.warning("event %s: the provider could not say more: %s", event.id, error)
    except MalformedEvent:
        pass  # the event itself is refused in its transaction
    return {}


def _dispatch(
    event: WebhookEventData,
    provider: str,
    latest: dict | None = None,
    asked: dict | None = None,
) -> tuple[str, int | None]:
    asked = asked or {}
    kind = event.type
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        session = session_from_event_object(event.object)
        if kind == "checkout.session.completed" and session.payment_status != "paid":
            return "awaiting asynchronous payment", _order_id_of(session)
        return _paid(session, provider)
    if kind == "checkout.session.async_payment_failed":
        session = session_from_event_object(event.object)
        return _closed(session, provider, "failed")
    if kind == "checkout.session.expired":
        session = session_from_event_object(event.object)
        return _closed(session, provider, "expired")
    if kind == "charge.refunded":
        return _refunded(event.object, provider, asked.get("invoice"))
    if kind in SUBSCRIPTION_EVENTS and kind.startswith("invoice."):
        invoice = invoice_from_event_object(event.object)
        return _invoice_event(invoice, provider, kind, asked.get("payment_intent"))
    if kind in SUBSCRIPTION_EVENTS:
        deleted = kind == "customer.subscription.deleted"
        current = latest if latest is not None and not deleted else event.object
        return _subscription_event(subscription_from_event_object(current), provider, deleted)
    return "ignored", None


def _order_id_of(session: CheckoutSession) -> int | None:
    raw = str(session.client_reference_id or session.metadata.get("order_id") or "")
    # Not ours if it is not an id we could have made (a database integer).
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID else None


def _locked_order(session: CheckoutSession, provider: str) -> tuple[Order | None, Payment | None]:
    """The order and payment a session belongs to, the order's row locked by a write.

    A session of ours that we never recorded (Stripe made it, but its answer was lost to a
    timeout) is recorded now, once the order is locked: every payment Stripe reports counts.
    """
    order_id = _order_id_of(session)
    if order_id is None:
        return None, None
    locked = db.session.execute(
        update(Order).where(Order.id == order_id).values(status=Order.status)
    )
    if locked.rowcount != 1:
        return None, None
    order = db.session.get(Order, order_id, populate_existing=True)
    payment = db.session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.session_id == session.id)
    )
    if payment is None and _is_session_of(session, order):
        payment = Payment(
            order_id=order.id,
            provider=provider,
            kind="checkout",
            session_id=session.id,
            checkout_url=session.url or "",
            amount_minor=session.amount_total or 0,
            currency=session.currency or order.currency,
            status="open",
            expires_at=session.expires_at,
        )
        db.session.add(payment)
        db.session.flush()
    if payment is None or payment.order_id != order_id:
        return None, None
    return order, payment


def _is_session_of(session: CheckoutSession, order: Order) -> bool:
    return (
        session.metadata.get("order_id") == str(order.id)
        and session.metadata.get("purpose") == order.purpose
        and session.metadata.get("reference") == order.reference
    )


def _paid(session: CheckoutSession, provider: str) -> tuple[str, int | None]:
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
    # A closed order (its checkout expired or failed) still takes money that arrives late: the
    # handler then says whether what it bought can still be given, else it is refunded.
    if order.status not in ("pending", "expired", "failed") or payment.status == "paid":
        return f"already {order.status}", order.id
    moment = utcnow()
    payment.payment_intent_id = session.payment_intent or payment.payment_intent_id
    if session.invoice and payment.invoice_id is None:
        # A subscription's first invoice, paid by this checkout: its refund is asked by it.
        payment.invoice_id = session.invoice
    if session.payment_intent:
        payment_id = payment.id
        after_commit(lambda: _receipt_once_paid(payment_id))
    if session.subscription and order.mode == "subscription":
        _subscription_row(order, provider, session.subscription)
    fulfilled = _settle(order, payment, moment)
    if fulfilled is None:
        return "paid, no fulfilment", order.id
    if not fulfilled:
        _refund_unfulfilled(order, payment)
    return ("paid" if fulfilled else "paid, not fulfilled, refunding"), order.id


def _settle(order: Order, payment: Payment, moment: datetime) -> bool | None:
    """Money arrived for this order (its row locked by the caller's write): the order and the
    payment are paid, and the purpose's handler gives what was bought. Returns whether it could
    (None: no handler for this purpose); the handler's after-commit action is queued."""
    order.transition("paid", moment)
    if payment.status != "paid":  # a payment recorded by hand is made paid
        payment.transition("paid", moment)
    handler = fulfilment_for(order.purpose)
    if handler is None:
        log.error("order %s paid for purpose %r, which nobody fulfils", order.id, order.purpose)
        return None
    fulfilled, action = handler.paid(order)
    if action is not None:
        after_commit(action)
    return fulfilled


def _closed(session: CheckoutSession, provider: str, status: str) -> tuple[str, int | None]:
    order, payment = _locked_order(session, provider)
    if order is None:
        return "unknown order", None
    if payment.status == "paid":
        # Deliveries come in any order: a late failure or expiry never undoes a payment.
        return f"already {order.status}", order.id
    if payment.status == "open":  # a closed attempt keeps the word it was closed with
        payment.transition(status, utcnow())
    if order.status != "pending":
        return f"already {order.status}", order.id
    if any(p.status == "open" for p in order.payments):
        return f"attempt {status}", order.id  # another attempt may still be paid
    order.transition(status, utcnow())
    handler = fulfilment_for(order.purpose)
    if handler is not None:
        action = handler.expired(order)
        if action is not None:
            after_commit(action)
    return status, order.id


# --- money recorded by hand: bank transfers against an invoice -----------------------------------


def issue_invoice(order_id: int) -> str:
    """The number of this order's invoice, given once (a second call returns the same): what the
    payer quotes with their bank transfer."""
    with write_transaction():
        order = _lock_order(order_id)
        if order is None:
            raise NotFound(_l("There is no such order."))
        if order.invoice_number is None:
            order.invoice_number = take_number(INVOICE_SERIES, community_today())
        number = order.invoice_number
    return number


def issue_receipt(payment_id: int) -> Payment:
    """The payment, with the number and day of its receipt (領収書), given once: a second call
    returns the same. Its row is locked by a write first, so that two people asking at the same
    moment take one number between them, and the series has no gap."""
    with write_transaction():
        locked = db.session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.status == "paid")
            .values(receipt_number=Payment.receipt_number)
            .execution_options(synchronize_session=False)
        )
        if locked.rowcount != 1:
            raise NotFound(_l("There is no such payment."))
        payment = db.session.get(Payment, payment_id, populate_existing=True)
        if payment.receipt_number is None:
            day = community_today()
            payment.receipt_number = take_number(RECEIPT_SERIES, day)
            payment.receipt_issued_on = day
    return payment


def record_bank_transfer(
    order_id: int,
    *,
    amount_minor: int,
    received_on: date,
    recorded_by_id: int | None,
    reference: str = "",
) -> Payment:
    """An administrator saw a transfer for this order's invoice on the community's account."""
    return record_payment(
        order_id,
        BANK_TRANSFER,
        amount_minor=amount_minor,
        currency=None,
        received_on=received_on,
        recorded_by_id=recorded_by_id,
        reference=reference,
    )


def record_payment(
    order_id: int,
    provider: Provider,
    *,
    amount_minor: int,
    currency: str | None,
    received_on: date,
    recorded_by_id: int | None,
    reference: str = "",
) -> Payment:
    """Record money that no webhook reports (a provider that `records_by_hand`), and settle the
    order with it: its purpose's `paid` runs exactly once, in this transaction.

    The order's row is locked by writing first, so two people recording the same transfer at the
    same moment record it once: the second is refused, as is any payment of an order already
    paid (a unique index backs it), one of another amount or currency than the order's, and one
    received on a day still to come. An order whose checkout had closed still takes it (money
    that came late). If what it bought can no longer be given, nothing is recorded and the
    refusal says so: the money goes back to the payer by hand. Once committed, the order's
    checkouts still open at Stripe are closed, so that it cannot be paid twice.
    """
    if not provider.records_by_hand:
        raise ValueError(f"{provider.provider} payments are reported by its webhook")
    today = utcnow().astimezone(zone()).date()
    if received_on > today:
        raise DomainError(
            _l("The day the money arrived cannot be later than today."), field="received_on"
        )
    with write_transaction():
        order = _lock_order(order_id)
        if order is None:
            raise NotFound(_l("There is no such order."))
        if order.status in ("paid", "partially_refunded", "refunded"):
            raise Conflict(ALREADY_PAID)
        if order.mode == "subscription":
            raise DomainError(_l("A subscription is paid by card at the payment provider."))
        if amount_minor != order.amount_minor or (currency or order.currency) != order.currency:
            raise DomainError(
                _l(
                    "This order is for %(amount)s: record a transfer of exactly that amount "
                    "(settle any difference with the payer first).",
                    amount=format_money(order.amount_minor, order.currency, current_language()),
                ),
                field="amount",
            )
        moment = utcnow()
        if order.invoice_number is None:
            order.invoice_number = take_number(INVOICE_SERIES, community_today())
        payment = Payment(
            order_id=order.id,
            provider=provider.provider,
            kind=provider.payment_kind,
            amount_minor=amount_minor,
            currency=order.currency,
            status="paid",
            received_on=received_on,
            transfer_reference=reference[:200],
            recorded_by_id=recorded_by_id,
            created_at=moment,
            updated_at=moment,
        )
        db.session.add(payment)
        try:
            with write_transaction():  # a savepoint: the unique index speaks as a refusal
                db.session.flush()
        except IntegrityError as error:
            raise Conflict(ALREADY_PAID) from error
        fulfilled = _settle(order, payment, moment)
        if fulfilled is False:
            raise Conflict(
                _l(
                    "What this order paid for can no longer be given (it was cancelled or "
                    "released), so the transfer is not recorded: return the money to the payer."
                )
            )
        order_id = order.id
        after_commit(lambda: _close_open_checkouts(order_id))
    return payment


def _lock_order(order_id: int) -> Order | None:
    """The order, re-read once its row is locked by a write (None if there is no such order)."""
    locked = db.session.execute(
        update(Order).where(Order.id == order_id).values(status=Order.status)
    )
    if locked.rowcount != 1:
        return None
    return db.session.get(Order, order_id, populate_existing=True)


def _close_open_checkouts(order_id: int) -> None:
    """The order is paid otherwise: its sessions still open at Stripe are expired (never while a
    lock is held: the sandbox delivers the expiry to our webhook at once)."""
    stripe = gateway()
    if stripe is None:
        return
    session_ids = db.session.scalars(
        select(Payment.session_id).where(
            Payment.order_id == order_id,
            Payment.provider == stripe.provider,
            Payment.status == "open",
        )
    ).all()
    db.session.rollback()
    for session_id in session_ids:
        try:
            stripe.expire_session(session_id)
        except GatewayError as error:
            log.warning("order %s: session %s not expired: %s", order_id, session_id, error)
        else:
            _expire_attempt(session_id, stripe.provider)


# --- subscriptions -------------------------------------------------------------------------------


def _subscription_row(order: Order, provider: str, subscription_id: str) -> Subscription:
    """The ledger's row of this subscription (made once, under the order's lock)."""
    row = db.session.scalar(
        select(Subscription).where(
            Subscription.provider == provider, Subscription.subscription_id == subscription_id
        )
    )
    if row is None:
        row = Subscription(
            order_id=order.id,
            provider=provider,
            subscription_id=subscription_id,
            billing_interval=order.billing_interval or "month",
            status="active",
            cancel_at_period_end=False,
        )
        db.session.add(row)
        db.session.flush()
    return row


def _subscription_of(
    subscription_id: str | None, metadata: dict, provider: str
) -> tuple[Order | None, Subscription | None]:
    """The order a subscription belongs to (its row locked by a write) and the subscription's
    row: found by the subscription's id, or (an event that came before its checkout's) by the
    order the subscription's metadata names, checked as a session's would be."""
    if not subscription_id:
        return None, None
    row = db.session.scalar(
        select(Subscription).where(
            Subscription.provider == provider, Subscription.subscription_id == subscription_id
        )
    )
    if row is not None:
        order = _lock_order(row.order_id)
        return order, db.session.get(Subscription, row.id, populate_existing=True)
    raw = metadata.get("order_id", "")
    if not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID):
        return None, None
    order = _lock_order(int(raw))
    if (
        order is None
        or order.mode != "subscription"
        or metadata.get("purpose") != order.purpose
        or metadata.get("reference") != order.reference
    ):
        return None, None
    return order, _subscription_row(order, provider, subscription_id)


def _tell_subscription(order: Order, row: Subscription, callback: str) -> None:
    """Tell the purpose's handler (its `callback`, if it has one) what became of the
    subscription. Not before the order's first payment is recorded: an event that came before its
    checkout's changes the row, and the handler's `paid` then finds the row as it is."""
    if order.status not in ("paid", "partially_refunded", "refunded"):
        return
    handler = fulfilment_for(order.purpose)
    told = getattr(handler, callback, None) if handler is not None else None
    if told is None:
        return
    action = told(order, row)
    if action is not None:
        after_commit(action)


def _invoice_event(
    invoice: InvoiceData, provider: str, kind: str, intent: str | None = None
) -> tuple[str, int | None]:
    order, row = _subscription_of(invoice.subscription, invoice.metadata, provider)
    if order is None:
        return "recorded", None  # not a subscription of ours (or not yet one we know)
    if invoice.billing_reason == "subscription_create":
        # The first invoice is what its checkout paid (or failed to): that event decides. Its
        # payment intent is kept on the checkout's payment (once that is recorded), for refunds.
        if intent is not None:
            db.session.execute(
                update(Payment)
                .where(
                    Payment.provider == provider,
                    Payment.invoice_id == invoice.id,
                    Payment.payment_intent_id.is_(None),
                )
                .values(payment_intent_id=intent)
            )
        return "first invoice: settled by its checkout", order.id
    moment = utcnow()
    _extend_period(row, invoice.period_end)
    if kind == "invoice.payment_failed":
        if row.status != "active":
            return f"already {row.status}", order.id
        row.transition("past_due", moment)
        _tell_subscription(order, row, "past_due")
        return "past due", order.id
    if row.status == "ended":
        return "already ended", order.id
    if invoice.amount_paid <= 0 or invoice.currency != order.currency:
        log.error(
            "order %s: invoice %s paid %s %s",
            order.id,
            invoice.id,
            invoice.amount_paid,
            invoice.currency,
        )
        return "amount mismatch", order.id
    known = db.session.scalar(
        select(Payment.id).where(Payment.provider == provider, Payment.invoice_id == invoice.id)
    )
    if known is not None:
        return "renewal already recorded", order.id
    db.session.add(
        Payment(
            order_id=order.id,
            provider=provider,
            kind="renewal",
            invoice_id=invoice.id,
            payment_intent_id=intent,
            amount_minor=invoice.amount_paid,
            currency=invoice.currency,
            status="paid",
            created_at=moment,
            updated_at=moment,
        )
    )
    if row.status == "past_due":
        row.transition("active", moment)
    row.updated_at = moment
    db.session.flush()
    _tell_subscription(order, row, "renewed")
    return "renewed", order.id


def _extend_period(row: Subscription, period_end: datetime | None) -> None:
    """An invoice's period (charged or not, Stripe has moved on to it) ends no earlier."""
    if period_end is not None and (
        row.current_period_end is None or period_end > row.current_period_end
    ):
        row.current_period_end = period_end


def _subscription_event(
    subscription: SubscriptionData, provider: str, deleted: bool
) -> tuple[str, int | None]:
    order, row = _subscription_of(subscription.id, subscription.metadata, provider)
    if order is None:
        return "recorded", None
    if row.status == "ended":
        return "already ended", order.id
    moment = utcnow()
    status = "ended" if deleted else SUBSCRIPTION_STATUS_OF.get(subscription.status)
    if status == "ended":
        row.cancel_at_period_end = subscription.cancel_at_period_end
        row.transition("ended", moment)
        _tell_subscription(order, row, "ended")
        return "ended", order.id
    was = (row.current_period_end, *_news_of(row))
    if status is not None and status != row.status:
        row.transition(status, moment)
    if subscription.current_period_end is not None:
        row.current_period_end = subscription.current_period_end
    row.cancel_at_period_end = subscription.cancel_at_period_end
    row.paused = subscription.paused
    if subscription.amount_minor is not None:
        row.amount_minor = (
            None if subscription.amount_minor == order.amount_minor else subscription.amount_minor
        )
    if (row.current_period_end, *_news_of(row)) == was:
        return "unchanged", order.id  # told already (a renewal, a failed charge, our change)
    row.updated_at = moment
    if row.status == "past_due" and was[1] != "past_due":
        _tell_subscription(order, row, "past_due")
        return "past due", order.id
    _tell_subscription(order, row, "changed")
    return "changed", order.id


def subscription_of(order_id: int) -> Subscription | None:
    """The subscription an order started (None before its checkout is paid)."""
    return db.session.scalar(
        select(Subscription).where(Subscription.order_id == order_id).order_by(Subscription.id)
    )


NOT_REACHED = _l(
    "The payment provider could not be reached, so nothing has changed. Please try again in a "
    "moment."
)
SUBSCRIPTION_ENDED = _l("This subscription has ended: there is nothing to change.")


def _ask_about_subscription(order_id: int, ask, what: str) -> tuple[Subscription, SubscriptionData]:
    """Ask the provider to change the order's subscription (`ask(provider, subscription_id)`),
    outside any transaction: its answer is what the caller then records. Refuses, changing
    nothing, when the subscription has ended or the provider cannot be asked."""
    row = subscription_of(order_id)
    if row is None or row.status == "ended":
        raise DomainError(SUBSCRIPTION_ENDED)
    provider = gateway()
    if provider is None or provider.provider != row.provider:
        raise Busy(_l("The payment provider cannot be reached right now. Please try again later."))
    try:
        return row, ask(provider, row.subscription_id)
    except GatewayError as error:
        log.warning("subscription %s: %s not changed: %s", row.subscription_id, what, error)
        raise Busy(NOT_REACHED) from error


def _record_answer(order_id: int, row_id: int, answer: SubscriptionData) -> Subscription:
    """Record what the provider answered to our own change, under the order's lock, and tell
    the purpose's handler (`changed`, or `ended`) at once; the provider's own event about it
    later finds nothing to change."""
    with write_transaction():
        order = _lock_order(order_id)
        row = db.session.get(Subscription, row_id, populate_existing=True)
        if row.status == "ended":
            return row
        moment = utcnow()
        if SUBSCRIPTION_STATUS_OF.get(answer.status) == "ended":
            row.cancel_at_period_end = answer.cancel_at_period_end
            row.transition("ended", moment)
            _tell_subscription(order, row, "ended")
            return row
        was = _news_of(row)
        row.cancel_at_period_end = answer.cancel_at_period_end
        row.paused = answer.paused
        if answer.amount_minor is not None:
            row.amount_minor = (
                None if answer.amount_minor == order.amount_minor else (answer.amount_minor)
            )
        if answer.current_period_end is not None:
            row.current_period_end = answer.current_period_end
        if _news_of(row) != was:
            row.updated_at = moment
            _tell_subscription(order, row, "changed")
    return row


def _news_of(row: Subscription) -> tuple:
    """What a purpose is told of when it changes (the period's end moves with renewals)."""
    return (row.status, row.cancel_at_period_end, row.paused, row.amount_minor)


def set_subscription_renewal(order_id: int, *, renew: bool) -> Subscription:
    """Stop (or resume) the renewal of the order's subscription at the provider: it then ends at
    its period's end. Recorded from the provider's answer (see `_record_answer`)."""
    row, answer = _ask_about_subscription(
        order_id, lambda provider, sid: provider.set_renewal(sid, renew=renew), "renewal"
    )
    return _record_answer(order_id, row.id, answer)


def change_subscription_amount(order_id: int, amount_minor: int) -> Subscription:
    """Charge `amount_minor` from the subscription's next invoice on (nothing now, nothing
    prorated)."""
    order = order_by_id(order_id)
    minimum = MINIMUM_CHARGE.get(order.currency, 50) if order is not None else 50
    if order is None or amount_minor < minimum:
        raise DomainError(
            _l(
                "Card payments start at %(amount)s.",
                amount=format_money(
                    minimum, order.currency if order else "JPY", current_language()
                ),
            ),
            field="amount",
        )
    current = subscription_of(order_id)
    stamp = (current.updated_at if current else utcnow()).strftime("%Y%m%d%H%M%S%f")
    row, answer = _ask_about_subscription(
        order_id,
        lambda provider, sid: provider.change_amount(
            sid,
            amount_minor=amount_minor,
            currency=order.currency,
            # Our own ids: a retried request reuses Stripe's answer; a later change (even back to
            # an earlier amount) is a new one, as the subscription's last change differs.
            idempotency_key=f"subscription-{current.id}-amount-{amount_minor}-{stamp}",
        ),
        "amount",
    )
    return _record_answer(order_id, row.id, answer)


def pause_subscription(order_id: int, *, paused: bool) -> Subscription:
    """Pause the subscription's collection (no invoice is charged until resumed), or resume it."""
    row, answer = _ask_about_subscription(
        order_id, lambda provider, sid: provider.set_paused(sid, paused=paused), "pause"
    )
    return _record_answer(order_id, row.id, answer)


def cancel_subscription(order_id: int) -> Subscription:
    """End the subscription now: nothing more is charged; nothing paid is given back."""
    row, answer = _ask_about_subscription(
        order_id, lambda provider, sid: provider.cancel_now(sid), "cancellation"
    )
    return _record_answer(order_id, row.id, answer)


def unpaid_subscription_url(order_id: int) -> str | None:
    """The provider's page where the subscriber pays what a failed renewal left owing, with
    another card (None when nothing is owed or the provider has no such page)."""
    row = subscription_of(order_id)
    provider = gateway()
    if row is None or row.status == "ended" or provider is None:
        return None
    if provider.provider != row.provider:
        return None
    try:
        return provider.unpaid_invoice_url(row.subscription_id)
    except GatewayError as error:
        log.warning("subscription %s: invoice page not found: %s", row.subscription_id, error)
        raise Busy(
            _l("The payment provider could not be reached. Please try again in a moment.")
        ) from error


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
    # And refunds decided but never sent (Stripe did not answer at the time).
    for refund_id in retry_refunds():
        changed.append((f"refund-{refund_id}", "refund", "sent"))
    # And the receipts Stripe could not be asked for when the money arrived.
    missing = db.session.scalars(
        select(Payment.id).where(
            Payment.provider == stripe.provider,
            Payment.status == "paid",
            Payment.payment_intent_id.is_not(None),
            Payment.receipt_url.is_(None),
            Payment.created_at >= since,
        )
    ).all()
    db.session.rollback()
    for payment_id in missing:
        if store_receipt(payment_id):
            changed.append((f"payment-{payment_id}", "receipt", "stored"))
    return changed


def store_receipt(payment_id: int) -> str | None:
    """Ask Stripe for the receipt of a paid payment (its charge's receipt_url, which Stripe keeps
    up to date with every refund) and keep its address. Never called while a lock is held; an
    unanswered question leaves it unknown, and the worker's receipts job (or reconcile) asks
    again."""
    try:
        return _ask_for_receipt(payment_id)
    except GatewayError as error:
        log.warning("receipt of payment %s not read from Stripe: %s", payment_id, error)
        return None


def _ask_for_receipt(payment_id: int) -> str | None:
    """The receipt's address, asked of Stripe and kept; GatewayError if Stripe did not answer."""
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    if payment is None or payment.receipt_url or not payment.payment_intent_id:
        return payment.receipt_url if payment is not None else None
    stripe = gateway()
    if stripe is None or stripe.provider != payment.provider:
        return None
    url = stripe.receipt_url_of(payment.payment_intent_id)
    if url is None:
        return None
    _write_alone(
        update(Payment)
        .where(Payment.id == payment_id, Payment.receipt_url.is_(None))
        .values(receipt_url=url)
    )
    return url


def _receipt_once_paid(payment_id: int) -> None:
    """After the payment's commit: in process (development, tests) the receipt is asked for at
    once; with a worker, its receipts job asks within RECEIPTS_EVERY_SECONDS, so that the
    webhook's answer never waits for Stripe (which may be slow, or down)."""
    if runs_in_process():
        store_receipt(payment_id)


# The receipts job: how often it runs, how many it asks for at most, and for how long after the
# payment; between two questions about one payment, a pause that doubles up to the longest.
RECEIPTS_EVERY_SECONDS = 15
RECEIPTS_PER_ROUND = 50
RECEIPTS_FOR = timedelta(days=30)
RECEIPT_FIRST_PAUSE = timedelta(minutes=1)
RECEIPT_LONGEST_PAUSE = timedelta(hours=6)


def receipt_pause(questions: int) -> timedelta:
    """How long after its `questions`-th question a payment's receipt is asked for again."""
    return min(RECEIPT_FIRST_PAUSE * 2 ** max(questions - 1, 0), RECEIPT_LONGEST_PAUSE)


def ask_for_missing_receipts() -> int:
    """The worker's job: ask Stripe for the receipts of recent paid payments that have none yet
    and are due a question. Each question is claimed first (a conditional UPDATE that also sets
    the next one), so that several workers never ask twice; a Stripe that does not answer ends
    the round (the others would wait for it in vain). Returns how many receipts were stored."""
    stripe = gateway()
    if stripe is None or stripe.provider != "stripe":
        return 0
    moment = utcnow()
    due = db.session.execute(
        select(Payment.id, Payment.receipt_questions)
        .where(
            Payment.provider == stripe.provider,
            Payment.status == "paid",
            Payment.payment_intent_id.is_not(None),
            Payment.receipt_url.is_(None),
            Payment.created_at >= moment - RECEIPTS_FOR,
            or_(Payment.receipt_next_ask_at.is_(None), Payment.receipt_next_ask_at <= moment),
        )
        .order_by(Payment.id)
        .limit(RECEIPTS_PER_ROUND)
    ).all()
    db.session.rollback()
    stored = 0
    for payment_id, questions in due:
        if not _claim_question(payment_id, questions, moment):
            continue
        try:
            if _ask_for_receipt(payment_id):
                stored += 1
        except GatewayError as error:
            log.warning("receipts: Stripe did not answer (%s); asking again later", error)
            break
    return stored


def _claim_question(payment_id: int, questions: int, moment: datetime) -> bool:
    try:
        with write_transaction():
            claimed = db.session.execute(
                update(Payment)
                .where(
                    Payment.id == payment_id,
                    Payment.receipt_questions == questions,
                    Payment.receipt_url.is_(None),
                )
                .values(
                    receipt_questions=questions + 1,
                    receipt_next_ask_at=moment + receipt_pause(questions + 1),
                )
                .execution_options(synchronize_session=False)
            )
    except Busy:
        return False
    return claimed.rowcount == 1
