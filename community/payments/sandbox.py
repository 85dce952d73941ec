"""The offline payment sandbox: Stripe's stand-in when no STRIPE_SECRET_KEY is set (`make run`).

`SandboxGateway` has the interface of `StripeGateway`. Its Checkout Sessions are our own payment
rows (provider "sandbox"); its hosted page is `sandbox_views`. Paying, failing or expiring a
session there, or refunding its payment, sends Stripe-shaped events signed with Stripe's scheme to
our own webhook view, so the signature check, the ledger and the fulfilment run exactly as they do
for Stripe: the sandbox itself never writes a row. It cannot run in production: the app refuses to
start there without a Stripe key (config.check_production), and the page is registered only in
sandbox mode.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from flask import current_app
from flask.testing import FlaskClient
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from community.core.db import db, utcnow
from community.core.errors import DomainError, NotFound
from community.core.transaction import after_commit
from community.core.urls import external_url
from community.payments.gateway import (
    STRIPE_API_VERSION,
    CheckoutSession,
    GatewayError,
    RefundResult,
    StripeGateway,
    SubscriptionData,
    WebhookEventData,
    session_from_event_object,
)
from community.payments.models import Order, Payment, Refund, Subscription

log = logging.getLogger(__name__)

__all__ = [
    "SANDBOX_WEBHOOK_SECRET",
    "SandboxGateway",
    "abandon",
    "deliver",
    "fail",
    "find_checkout",
    "pay",
    "sign",
]

PROVIDER = "sandbox"
# Used when STRIPE_WEBHOOK_SECRET is not set: development only (production refuses the sandbox).
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_development"  # noqa: S105
WEBHOOK_PATH = "/stripe/webhook"
# Stripe refuses a session that expires sooner than 30 minutes or later than 24 hours after it
# is made; the sandbox refuses the same, so that an offline run shows what Stripe would refuse.
SHORTEST_EXPIRY = timedelta(minutes=30)
LONGEST_EXPIRY = timedelta(hours=24)
# What Stripe says of a session, for each status of our payment row.
SESSION_STATES = {
    "open": ("open", "unpaid"),
    "paid": ("complete", "paid"),
    "failed": ("complete", "unpaid"),
    "expired": ("expired", "unpaid"),
}


def webhook_secret() -> str:
    return current_app.config.get("STRIPE_WEBHOOK_SECRET") or SANDBOX_WEBHOOK_SECRET


def _token(kind: str, value: str) -> str:
    """A random-looking id part that the same input always gives (Stripe's idempotency)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:24]


def _payment(session_id: str) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(Payment.provider == PROVIDER, Payment.session_id == session_id)
    )


def _return_urls(payment: Payment) -> tuple[str, str]:
    """success_url and cancel_url, kept in the query of the session's own url in our row."""
    query = parse_qs(urlsplit(payment.checkout_url).query)
    return query.get("success_url", [""])[0], query.get("cancel_url", [""])[0]


def _timestamp(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _session_object(payment: Payment, state: str | None = None) -> dict:
    """The session as Stripe shows it (in an event or an API answer); `state` as it becomes."""
    order: Order = payment.order
    status, payment_status = SESSION_STATES[state or payment.status]
    success_url, cancel_url = _return_urls(payment)
    complete = status == "complete"
    subscription = order.mode == "subscription"
    return {
        "id": payment.session_id,
        "object": "checkout.session",
        "livemode": False,
        "mode": order.mode,
        "status": status,
        "payment_status": payment_status,
        "amount_subtotal": payment.amount_minor,
        "amount_total": payment.amount_minor,
        "currency": payment.currency.lower(),
        "client_reference_id": str(order.id),
        "customer_email": order.buyer_email,
        "customer_details": {"email": order.buyer_email} if complete else None,
        "metadata": {
            "order_id": str(order.id),
            "purpose": order.purpose,
            "reference": order.reference,
        },
        "payment_intent": (
            (payment.payment_intent_id or "pi_sandbox_" + _token("intent", payment.session_id))
            if complete and not subscription
            else None
        ),
        "subscription": (
            "sub_sandbox_" + _token("subscription", payment.session_id)
            if complete and subscription
            else None
        ),
        "success_url": success_url,
        "cancel_url": cancel_url,
        "url": payment.checkout_url if status == "open" else None,
        "created": _timestamp(payment.created_at),
        "expires_at": _timestamp(payment.expires_at),
    }


# --- the Stripe side: signed events to our own webhook ------------------------------------------


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's scheme: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _event(kind: str, obj: dict, occasion: str = "") -> dict:
    return {
        # One id per object, kind and occasion: a delivery tried again is a duplicate to the ledger.
        "id": "evt_sandbox_" + _token("event", f"{obj['id']}:{kind}:{occasion}"),
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
        "data": {"object": obj},
    }


def deliver(event: dict) -> int:
    """Send a signed event to our webhook and return the HTTP status it answered."""
    app = current_app._get_current_object()
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(body, webhook_secret())}
    # In-process, but through the same view, signature check and ledger code as Stripe's
    # deliveries over HTTP. A fresh app context gives the delivery its own database session, as
    # for any request; posting to ourselves over HTTP would deadlock a single-worker server. A
    # plain FlaskClient: the app's test_client_class may be one that touches the caller's session.
    with app.app_context():
        client = FlaskClient(app, app.response_class, use_cookies=False)
        response = client.post(WEBHOOK_PATH, data=body, headers=headers)
        # Closed as a server closes it, which runs what waits for the answer to be out (the
        # outbox's delivery in this process, with MAIL_DELIVERY=in_process).
        response.close()
    log.info("sandbox delivered %s %s: HTTP %s", event["type"], event["id"], response.status_code)
    return response.status_code


def _deliver_all(events: list[dict]) -> None:
    for event in events:
        status = deliver(event)
        if status != 200:
            raise GatewayError(f"the webhook answered HTTP {status}", transient=True)


# --- the gateway ---------------------------------------------------------------------------------


def _stripe_side():
    """An app context of its own, so its own database session: what the gateway reads is read as
    Stripe would, outside the caller's transaction (which it must neither begin nor end)."""
    return current_app.app_context()


def _no_such_session(session_id: str) -> GatewayError:
    return GatewayError(f"No such checkout.session: '{session_id}'", transient=False)


class SandboxGateway:
    provider = PROVIDER
    records_by_hand = False
    payment_kind = "checkout"

    def __init__(self, webhook_secret_value: str | None = None) -> None:
        self.webhook_secret = webhook_secret_value or webhook_secret()

    def create_checkout_session(
        self,
        *,
        mode: str,
        amount_minor: int,
        currency: str,
        name: str,
        email: str,
        order_id: int,
        purpose: str,
        reference: str,
        expires_at: datetime | None,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        interval: str | None = None,
    ) -> CheckoutSession:
        # The interval lives on the order (which the session's events are built from).
        session_id = "cs_sandbox_" + _token("session", idempotency_key)
        with _stripe_side():
            existing = _payment(session_id)
            if existing is not None:  # the same key again: the same session, as at Stripe
                return session_from_event_object(_session_object(existing))
        moment = utcnow()
        expires_at = expires_at or moment + LONGEST_EXPIRY
        if not SHORTEST_EXPIRY <= expires_at - moment <= LONGEST_EXPIRY:
            raise GatewayError(
                "expires_at must be between 30 minutes and 24 hours from now", transient=False
            )
        # The return addresses travel in the page's own url, which our payment row keeps; the
        # page reads them from that row, never from the request.
        url = external_url(
            "payments_sandbox.checkout",
            session_id=session_id,
            success_url=success_url,
            cancel_url=cancel_url,
        )
        if len(url) > Payment.checkout_url.type.length:
            raise GatewayError("success_url or cancel_url is too long", transient=False)
        return session_from_event_object(
            {
                "id": session_id,
                "url": url,
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": amount_minor,
                "currency": currency.lower(),
                "client_reference_id": str(order_id),
                "metadata": {"order_id": str(order_id), "purpose": purpose, "reference": reference},
                "expires_at": _timestamp(expires_at),
                "created": _timestamp(moment),
            }
        )

    def retrieve_session(self, session_id: str) -> CheckoutSession:
        with _stripe_side():
            payment = _payment(session_id)
            if payment is None:
                raise _no_such_session(session_id)
            return session_from_event_object(_session_object(payment))

    def expire_session(self, session_id: str) -> CheckoutSession:
        """Expire an open session: `checkout.session.expired` has reached our webhook when this
        returns, so the caller must not hold a write lock (it would wait for itself)."""
        with _stripe_side():
            payment = _payment(session_id)
            if payment is None:
                raise _no_such_session(session_id)
            if payment.status != "open":
                raise GatewayError(
                    "Only Checkout Sessions with a status in [open] can be expired",
                    transient=False,
                )
            expired = _session_object(payment, "expired")
        _deliver_all([_event("checkout.session.expired", expired)])
        return session_from_event_object(expired)

    def list_sessions(self, created_since: datetime) -> list[CheckoutSession]:
        with _stripe_side():
            payments = db.session.scalars(
                select(Payment)
                .where(Payment.provider == PROVIDER, Payment.created_at >= created_since)
                .order_by(Payment.id.desc())
            )
            return [session_from_event_object(_session_object(payment)) for payment in payments]

    def list_events(self, created_since: datetime) -> list[WebhookEventData]:
        # Nothing to replay: each event is delivered at once, and a refused one is sent again by
        # pressing the page's button again (reconcile also skips the sandbox).
        return []

    def receipt_url_of(self, payment_intent_id: str) -> str | None:
        # No card is charged, so there is no receipt: the manage page shows none.
        return None

    def invoice_payment_intent(self, invoice_id: str) -> str | None:
        # A sandbox subscription is only ever paid by its checkout: it has no later invoices.
        return None

    def invoice_of_payment_intent(self, payment_intent_id: str) -> str | None:
        return None

    def create_refund(
        self, *, payment_intent: str, amount_minor: int, idempotency_key: str
    ) -> RefundResult:
        """A refund that succeeds at once; `charge.refunded` follows when the caller commits."""
        refund_id = "re_sandbox_" + _token("refund", idempotency_key)
        with _stripe_side():
            payment = db.session.scalar(
                select(Payment).where(
                    Payment.provider == PROVIDER, Payment.payment_intent_id == payment_intent
                )
            )
            if payment is None or payment.status != "paid":
                raise GatewayError(f"No such payment_intent: '{payment_intent}'", transient=False)
            made = db.session.scalars(
                select(Refund).where(
                    Refund.order_id == payment.order_id,
                    Refund.provider == PROVIDER,
                    Refund.status != "failed",
                    Refund.refund_id.is_not(None),
                )
            ).all()
            if any(refund.refund_id == refund_id for refund in made):
                # The same key again: the same refund, and no second event.
                return RefundResult(id=refund_id, status="succeeded", amount=amount_minor)
            already = sum(refund.amount_minor for refund in made)
            refundable = payment.amount_minor - already
            if not 0 < amount_minor <= refundable:
                raise GatewayError(
                    f"Refund amount ({amount_minor}) is greater than unrefunded amount on "
                    f"charge ({refundable})",
                    transient=False,
                )
            charge = {
                "id": "ch_sandbox_" + _token("charge", payment.session_id),
                "object": "charge",
                "amount": payment.amount_minor,
                "amount_captured": payment.amount_minor,
                # As at Stripe, the refund just made already counts.
                "amount_refunded": already + amount_minor,
                "currency": payment.currency.lower(),
                "livemode": False,
                "paid": True,
                "payment_intent": payment_intent,
                "refunded": already + amount_minor >= payment.amount_minor,
                "status": "succeeded",
            }
        event = _event("charge.refunded", charge, refund_id)
        _deliver_after_the_callers_commit(event)
        return RefundResult(id=refund_id, status="succeeded", amount=amount_minor)

    def set_renewal(self, subscription_id: str, *, renew: bool) -> SubscriptionData:
        """The sandbox's subscriptions renew only in the ledger's word: the change is answered
        as Stripe would answer it, and the caller records it (no event follows)."""
        return self._answer(subscription_id, cancel_at_period_end=not renew)

    def change_amount(
        self, subscription_id: str, *, amount_minor: int, currency: str, idempotency_key: str
    ) -> SubscriptionData:
        return self._answer(subscription_id, amount_minor=amount_minor)

    def set_paused(self, subscription_id: str, *, paused: bool) -> SubscriptionData:
        return self._answer(subscription_id, paused=paused)

    def cancel_now(self, subscription_id: str) -> SubscriptionData:
        return self._answer(subscription_id, status="canceled")

    def _answer(self, subscription_id: str, **changes) -> SubscriptionData:
        """The subscription as Stripe would answer after `changes` (the caller records them)."""
        with _stripe_side():
            row = db.session.scalar(
                select(Subscription).where(
                    Subscription.provider == PROVIDER,
                    Subscription.subscription_id == subscription_id,
                )
            )
            if row is None or row.status == "ended":
                raise GatewayError(f"No such subscription: '{subscription_id}'", transient=False)
            current = {
                "id": subscription_id,
                "status": "past_due" if row.status == "past_due" else "active",
                "current_period_end": row.current_period_end,
                "cancel_at_period_end": row.cancel_at_period_end,
                "paused": row.paused,
                "amount_minor": row.charge_minor,
            }
            return SubscriptionData(**{**current, **changes})

    def current_subscription(self, subscription_id: str) -> dict | None:
        # The sandbox sends no event about a subscription: nothing is ever out of date.
        return None

    def unpaid_invoice_url(self, subscription_id: str) -> str | None:
        # No card is charged again in the sandbox: nothing is ever owed.
        return None

    def verify_event(self, payload: bytes, signature: str | None) -> WebhookEventData:
        # Stripe's own verification (the SDK, in gateway.py) with the sandbox's secret: the same
        # check as for a delivery from Stripe. No request is made; the key is never used.
        return StripeGateway("sk_sandbox_unused", self.webhook_secret).verify_event(
            payload, signature
        )


def _deliver_after_the_callers_commit(event: dict) -> None:
    """Stripe sends `charge.refunded` after it has answered; the caller records the refund id
    first. Delivered once the caller's next unit of work commits, so the two never race."""
    app = current_app._get_current_object()

    def send() -> None:
        try:
            with app.app_context():
                deliver(event)
        except Exception:  # a lost event, as with Stripe: never the caller's commit failing
            log.exception("sandbox could not deliver %s %s", event["type"], event["id"])

    after_commit(send)


# --- the hosted page's actions -------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxCheckout:
    """What the test checkout page shows."""

    session_id: str
    state: str  # open, paid, failed, expired (an open session past its time reads as expired)
    description: str
    amount_minor: int
    currency: str
    email: str
    success_url: str
    cancel_url: str


def find_checkout(session_id: str) -> SandboxCheckout | None:
    payment = _payment(session_id)
    return _checkout_of(payment) if payment is not None else None


def _checkout_of(payment: Payment) -> SandboxCheckout:
    state = payment.status
    if state == "open" and payment.expires_at is not None and payment.expires_at <= utcnow():
        state = "expired"  # Stripe's page refuses it too; its event comes with expire_session
    success_url, cancel_url = _return_urls(payment)
    order = payment.order
    return SandboxCheckout(
        session_id=payment.session_id,
        state=state,
        description=order.description or order.purpose,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        email=order.buyer_email,
        success_url=success_url,
        cancel_url=cancel_url,
    )


def _open_checkout(session_id: str) -> tuple[SandboxCheckout, Payment]:
    payment = _payment(session_id)
    if payment is None:
        raise NotFound(_l("There is no such test checkout."))
    checkout = _checkout_of(payment)
    if checkout.state == "expired":
        raise DomainError(_l("This test checkout has expired."))
    if checkout.state != "open":
        raise DomainError(_l("This test checkout is already finished."))
    return checkout, payment


def _settle(session_id: str, events: list[tuple[str, str]]) -> SandboxCheckout:
    checkout, payment = _open_checkout(session_id)
    prepared = [_event(kind, _session_object(payment, state)) for kind, state in events]
    # Nothing is written here: end the read transaction before the webhook takes the write lock.
    db.session.rollback()
    try:
        _deliver_all(prepared)
    except GatewayError as error:
        log.warning("sandbox checkout %s: %s", session_id, error)
        raise DomainError(
            _l("The app did not accept the test payment's event. Please try again.")
        ) from error
    return checkout


def pay(session_id: str) -> str:
    """The buyer paid: `checkout.session.completed`, paid. Returns where to send them."""
    return _settle(session_id, [("checkout.session.completed", "paid")]).success_url


def fail(session_id: str) -> str:
    """The payment failed: completed but unpaid, then the asynchronous payment's failure."""
    events = [
        ("checkout.session.completed", "failed"),
        ("checkout.session.async_payment_failed", "failed"),
    ]
    return _settle(session_id, events).cancel_url


def abandon(session_id: str) -> str:
    """The buyer went back: no event; the session stays open until it expires."""
    checkout, _ = _open_checkout(session_id)
    return checkout.cancel_url
