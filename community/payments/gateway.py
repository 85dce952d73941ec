"""The Stripe gateway: the only module that imports `stripe`.

It speaks to Stripe through the official SDK's `StripeClient`, with the API version pinned,
idempotency keys derived from our own ids, a short timeout, and `STRIPE_API_BASE` pointing it at
another server (the tests' fake Stripe). What comes back is turned into plain dataclasses, so
the rest of the payments package never handles SDK objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import stripe

# Pinned: every request says which API version it speaks, whatever the account's default is.
STRIPE_API_VERSION = "2026-10-28.endive"
TIMEOUT_SECONDS = 10

# Stripe's minimum charge per currency, in minor units.
MINIMUM_CHARGE = {"JPY": 50, "USD": 50, "EUR": 50, "GBP": 30, "AUD": 50, "CAD": 50, "SGD": 50}


class GatewayError(Exception):
    """Stripe refused or could not be reached; `transient` when trying again may work."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class SignatureError(Exception):
    """A webhook delivery whose signature is missing, wrong or too old."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    status: str  # open, complete, expired
    payment_status: str  # paid, unpaid, no_payment_required
    amount_total: int | None
    currency: str  # upper case, as stored in our ledger
    client_reference_id: str | None
    metadata: dict = field(default_factory=dict)
    payment_intent: str | None = None
    subscription: str | None = None
    # A subscription's first invoice (subscription mode), which its checkout paid.
    invoice: str | None = None
    expires_at: datetime | None = None
    created: datetime | None = None


@dataclass(frozen=True)
class WebhookEventData:
    id: str
    type: str
    object: dict
    created: datetime


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int


@dataclass(frozen=True)
class SubscriptionData:
    """A subscription as Stripe shows it (in its events)."""

    id: str
    status: str  # Stripe's: active, trialing, past_due, unpaid, canceled, incomplete, …
    current_period_end: datetime | None
    cancel_at_period_end: bool
    metadata: dict = field(default_factory=dict)
    # Collection paused (Stripe's pause_collection is set): its invoices are not charged.
    paused: bool = False
    # What each invoice charges now: its items' prices (None when Stripe did not say).
    amount_minor: int | None = None


@dataclass(frozen=True)
class InvoiceData:
    """An invoice of a subscription as Stripe shows it (in invoice.paid / payment_failed)."""

    id: str
    subscription: str | None
    billing_reason: str  # subscription_create (the first, paid by the checkout), _cycle, …
    amount_paid: int
    amount_due: int
    currency: str  # upper case
    period_end: datetime | None
    # The subscription's metadata (our order id, purpose and reference).
    metadata: dict = field(default_factory=dict)


class MalformedEvent(Exception):
    """A verified event whose object is not what Stripe documents (a field missing or of another
    type): nothing of it is applied, and the webhook answers 400."""


@dataclass(frozen=True)
class RefundedCharge:
    payment_intent: str | None
    amount_refunded: int


def _text(data: dict, key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise MalformedEvent(f"{key} is {type(value).__name__}, not text")
    return value


def _integer(data: dict, key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    # bool is an int to Python, and no amount or time is a bool; nor is one beyond 64 bits.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise MalformedEvent(f"{key} is {value!r:.40}, not a whole number")
    return value


def _session_from(obj) -> CheckoutSession:
    data = obj if isinstance(obj, dict) else obj.to_dict()
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise MalformedEvent("metadata is not an object")
    return CheckoutSession(
        id=_text(data, "id", required=True),
        url=_text(data, "url") or "",
        status=_text(data, "status") or "",
        payment_status=_text(data, "payment_status") or "",
        amount_total=_integer(data, "amount_total"),
        currency=(_text(data, "currency") or "").upper(),
        client_reference_id=_text(data, "client_reference_id"),
        metadata={str(key): str(value) for key, value in metadata.items()},
        payment_intent=_id_of(data.get("payment_intent")),
        subscription=_id_of(data.get("subscription")),
        invoice=_id_of(data.get("invoice")),
        expires_at=_time(_integer(data, "expires_at")),
        created=_time(_integer(data, "created")),
    )


def _metadata(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvent("metadata is not an object")
    return {str(key): str(item) for key, item in value.items()}


def _object(data: dict, key: str) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvent(f"{key} is not an object")
    return value


def subscription_from_event_object(data: dict) -> SubscriptionData:
    # Since API version 2025-03-31 the period is on each item, no longer on the subscription.
    items = _object(data, "items").get("data") or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise MalformedEvent("items.data is not a list of objects")
    ends = [_integer(item, "current_period_end") for item in items]
    end = max((value for value in ends if value), default=None) or _integer(
        data, "current_period_end"
    )
    pause = data.get("pause_collection")
    if pause is not None and not isinstance(pause, dict):
        raise MalformedEvent("pause_collection is not an object")
    return SubscriptionData(
        id=_text(data, "id", required=True),
        status=_text(data, "status") or "",
        current_period_end=_time(end),
        cancel_at_period_end=data.get("cancel_at_period_end") is True,
        metadata=_metadata(data.get("metadata")),
        paused=bool(pause),
        amount_minor=_items_amount(items),
    )


def _items_amount(items: list[dict]) -> int | None:
    amounts = []
    for item in items:
        price = _object(item, "price")
        unit = _integer(price, "unit_amount")
        if unit is None:
            return None
        amounts.append(unit * (_integer(item, "quantity") or 1))
    return sum(amounts) if amounts else None


def invoice_from_event_object(data: dict) -> InvoiceData:
    # Since API version 2025-03-31 the subscription is under parent.subscription_details.
    details = _object(_object(data, "parent"), "subscription_details")
    subscription = _id_of(details.get("subscription")) or _id_of(data.get("subscription"))
    earlier = _object(data, "subscription_details")  # where API versions before put it
    metadata = _metadata(details.get("metadata") or earlier.get("metadata"))
    return InvoiceData(
        id=_text(data, "id", required=True),
        subscription=subscription,
        billing_reason=_text(data, "billing_reason") or "",
        amount_paid=_integer(data, "amount_paid") or 0,
        amount_due=_integer(data, "amount_due") or 0,
        currency=(_text(data, "currency") or "").upper(),
        period_end=_time(_integer(data, "period_end")),
        metadata=metadata,
    )


def refunded_charge_from_event_object(data: dict) -> RefundedCharge:
    return RefundedCharge(
        payment_intent=_id_of(data.get("payment_intent")),
        amount_refunded=_integer(data, "amount_refunded") or 0,
    )


def _id_of(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    raise MalformedEvent("an expandable field is neither an id nor an object with one")


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise MalformedEvent(f"{value!r:.40} is not a time") from error


def _is_web_address(url) -> bool:
    """Only an https address (or http on this machine, as a test server's) becomes a link."""
    if not isinstance(url, str) or len(url) > 2000:
        return False
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")


def session_from_event_object(data: dict) -> CheckoutSession:
    return _session_from(data)


class StripeGateway:
    provider = "stripe"
    records_by_hand = False
    payment_kind = "checkout"

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        api_base: str = "",
        timeout: float = TIMEOUT_SECONDS,
        retries: int = 2,
    ) -> None:
        options = {}
        if api_base:
            options["base_addresses"] = {"api": api_base.rstrip("/")}
        self.webhook_secret = webhook_secret
        self.client = stripe.StripeClient(
            secret_key,
            stripe_version=STRIPE_API_VERSION,
            max_network_retries=retries,
            http_client=stripe.RequestsClient(timeout=timeout),
            **options,
        )

    def _call(self, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except (
            stripe.APIConnectionError,
            stripe.RateLimitError,
            stripe.APIError,
            # The same idempotency key is in use by a request still running: ask again later.
            stripe.IdempotencyError,
        ) as error:
            raise GatewayError(str(error.user_message or error), transient=True) from error
        except stripe.StripeError as error:
            raise GatewayError(str(error.user_message or error), transient=False) from error

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
        expires_at: datetime,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        interval: str | None = None,
    ) -> CheckoutSession:
        price_data = {
            "currency": currency.lower(),
            "unit_amount": amount_minor,
            "product_data": {"name": name[:250]},
        }
        metadata = {"order_id": str(order_id), "purpose": purpose, "reference": reference}
        params = {
            "mode": mode,
            "line_items": [{"price_data": price_data, "quantity": 1}],
            "client_reference_id": str(order_id),
            "customer_email": email,
            "metadata": metadata,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": int(expires_at.timestamp()),
        }
        if mode == "subscription":
            # The order's interval; its metadata also goes on the subscription, so that every
            # later invoice and change of it names the order it belongs to.
            price_data["recurring"] = {"interval": interval or "month"}
            params["subscription_data"] = {"metadata": metadata}
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params,
            {"idempotency_key": idempotency_key},
        )
        return _session_from(session)

    def retrieve_session(self, session_id: str) -> CheckoutSession:
        return _session_from(self._call(self.client.v1.checkout.sessions.retrieve, session_id))

    def set_renewal(self, subscription_id: str, *, renew: bool) -> SubscriptionData:
        """Stop (or resume) the subscription's renewal: it then ends at its period's end."""
        subscription = self._call(
            self.client.v1.subscriptions.update,
            subscription_id,
            {"cancel_at_period_end": not renew},
        )
        return subscription_from_event_object(subscription.to_dict())

    def change_amount(
        self, subscription_id: str, *, amount_minor: int, currency: str, idempotency_key: str
    ) -> SubscriptionData:
        """Charge `amount_minor` from the next invoice on: the subscription's item gets a new
        price of the same product and interval, without proration (nothing is charged now)."""
        current = self._call(self.client.v1.subscriptions.retrieve, subscription_id).to_dict()
        items = _object(current, "items").get("data") or []
        if not items or not isinstance(items[0], dict):
            raise GatewayError(f"subscription {subscription_id} has no item", transient=False)
        item = items[0]
        price = _object(item, "price")
        recurring = _object(price, "recurring")
        product = _id_of(price.get("product"))
        if not product:
            raise GatewayError(f"subscription {subscription_id}: no product", transient=False)
        subscription = self._call(
            self.client.v1.subscriptions.update,
            subscription_id,
            {
                "items": [
                    {
                        "id": item["id"],
                        "price_data": {
                            "currency": currency.lower(),
                            "product": product,
                            "unit_amount": amount_minor,
                            "recurring": {"interval": recurring.get("interval") or "month"},
                        },
                    }
                ],
                "proration_behavior": "none",
            },
            {"idempotency_key": idempotency_key},
        )
        return subscription_from_event_object(subscription.to_dict())

    def set_paused(self, subscription_id: str, *, paused: bool) -> SubscriptionData:
        """Pause collection (its invoices are voided, nothing is charged) or resume it."""
        subscription = self._call(
            self.client.v1.subscriptions.update,
            subscription_id,
            {"pause_collection": {"behavior": "void"} if paused else ""},
        )
        return subscription_from_event_object(subscription.to_dict())

    def cancel_now(self, subscription_id: str) -> SubscriptionData:
        """End the subscription at once: nothing more is charged, nothing paid is refunded."""
        subscription = self._call(self.client.v1.subscriptions.cancel, subscription_id)
        return subscription_from_event_object(subscription.to_dict())

    def current_subscription(self, subscription_id: str) -> dict | None:
        """The subscription as Stripe has it now, as an event would carry it."""
        return self._call(self.client.v1.subscriptions.retrieve, subscription_id).to_dict()

    def unpaid_invoice_url(self, subscription_id: str) -> str | None:
        """Stripe's page where the subscriber pays its latest invoice (with another card), when
        that invoice is still open; None when nothing is owed."""
        subscription = self._call(
            self.client.v1.subscriptions.retrieve,
            subscription_id,
            {"expand": ["latest_invoice"]},
        )
        invoice = subscription.to_dict().get("latest_invoice")
        if not isinstance(invoice, dict) or invoice.get("status") != "open":
            return None
        url = invoice.get("hosted_invoice_url")
        return url if _is_web_address(url) else None

    def expire_session(self, session_id: str) -> CheckoutSession:
        return _session_from(self._call(self.client.v1.checkout.sessions.expire, session_id))

    def list_sessions(self, created_since: datetime) -> list[CheckoutSession]:
        params = {"created": {"gte": int(created_since.timestamp())}, "limit": 100}
        page = self._call(self.client.v1.checkout.sessions.list, params)
        return [_session_from(item) for item in page.auto_paging_iter()]

    def list_events(self, created_since: datetime) -> list[WebhookEventData]:
        """Every event since then, oldest first (what reconcile replays)."""
        params = {"created": {"gte": int(created_since.timestamp())}, "limit": 100}
        page = self._call(self.client.v1.events.list, params)
        events = [
            WebhookEventData(
                id=item["id"],
                type=item["type"],
                object=dict(item["data"]["object"].to_dict()),
                created=_time(item["created"]) or datetime.now(UTC),
            )
            for item in page.auto_paging_iter()
        ]
        return sorted(events, key=lambda event: (event.created, event.id))

    def receipt_url_of(self, payment_intent_id: str) -> str | None:
        """The address of Stripe's receipt for a paid payment intent (its latest charge's
        receipt_url), or None if it has none yet."""
        intent = self._call(
            self.client.v1.payment_intents.retrieve,
            payment_intent_id,
            {"expand": ["latest_charge"]},
        )
        charge = intent.to_dict().get("latest_charge")
        url = charge.get("receipt_url") if isinstance(charge, dict) else None
        return url if _is_web_address(url) else None

    def invoice_payment_intent(self, invoice_id: str) -> str | None:
        """The payment intent that paid a subscription's invoice (since API version 2025-03-31
        an invoice names its payments only through invoice payments), or None if none did."""
        page = self._call(
            self.client.v1.invoice_payments.list,
            {"invoice": invoice_id, "status": "paid", "limit": 10},
        )
        for item in page.data:
            payment = item.to_dict().get("payment") or {}
            if isinstance(payment, dict) and payment.get("type") == "payment_intent":
                return _id_of(payment.get("payment_intent"))
        return None

    def invoice_of_payment_intent(self, payment_intent_id: str) -> str | None:
        """The invoice a payment intent paid (a subscription's), or None if it paid none."""
        page = self._call(
            self.client.v1.invoice_payments.list,
            {"payment": {"type": "payment_intent", "payment_intent": payment_intent_id}},
        )
        for item in page.data:
            invoice = _id_of(item.to_dict().get("invoice"))
            if invoice:
                return invoice
        return None

    def create_refund(
        self, *, payment_intent: str, amount_minor: int, idempotency_key: str
    ) -> RefundResult:
        refund = self._call(
            self.client.v1.refunds.create,
            {"payment_intent": payment_intent, "amount": amount_minor},
            {"idempotency_key": idempotency_key},
        )
        return RefundResult(id=refund.id, status=refund.status, amount=refund.amount)

    def verify_event(self, payload: bytes, signature: str | None) -> WebhookEventData:
        """The event in a webhook delivery, if its Stripe-Signature is right and fresh."""
        if not signature or not self.webhook_secret:
            raise SignatureError("missing signature or secret")
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), signature, self.webhook_secret, tolerance=300
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
            raise SignatureError(str(error)) from error
        try:
            data = json.loads(payload)
            return WebhookEventData(
                id=str(data["id"]),
                type=str(data["type"]),
                object=dict(data["data"]["object"]),
                created=_time(data.get("created")) or datetime.now(UTC),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise SignatureError(f"not a Stripe event: {error}") from error
