"""A fake Stripe for the tests: a real HTTP server on 127.0.0.1 that the real `stripe` SDK talks to.

It answers the part of Stripe's v1 API the payments package uses — Checkout Sessions (create,
retrieve, expire, list, line items), payment intents, charges, refunds, subscriptions, invoices
(each paid one by a payment intent, named by an invoice payment, as since API version 2025-03-31),
customers and events — in Stripe's JSON format, with Stripe-style errors, Stripe's minimum charges,
unknown-parameter refusals and idempotency keys. Tests drive what happens on Stripe's side
(`complete`, `async_result`, `expire`, `tamper`, `settle_refund`, subscription renewals) and every
such change produces the event Stripe would send, delivered with a correct `Stripe-Signature` to a
URL on 127.0.0.1 or to a callable (a Flask test client). Deliveries can be held, reordered,
repeated or sent concurrently; requests can be made to fail or hang. Its hosted pages (Checkout
at /pay/…, a charge's receipt at /receipts/payment/…, an invoice's page at /invoices/…) are
served on its own address. The app's code is not mocked; nothing here imports the app.
"""

from __future__ import annotations

import calendar
import copy
import fnmatch
import hashlib
import hmac
import html
import http.client
import json
import re
import secrets
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.datastructures import Headers

# Stripe's minimum charge per currency, in the currency's smallest unit
# (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts); also the currencies we accept.
MINIMUM_CHARGE = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "jpy": 50,
    "aud": 50,
    "cad": 50,
    "chf": 50,
    "nzd": 50,
    "sgd": 50,
    "hkd": 400,
    "dkk": 250,
    "nok": 300,
    "sek": 300,
    "mxn": 1000,
}
MAXIMUM_CHARGE = 99_999_999
MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60
DEFAULT_WEBHOOK_SECRET = "whsec_test_fake_stripe_secret"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
# What each object's id starts with, as on Stripe (test mode for sessions).
ID_PREFIXES = {
    "checkout.session": "cs_test_",
    "payment_intent": "pi_",
    "charge": "ch_",
    "refund": "re_",
    "subscription": "sub_",
    "subscription_item": "si_",
    "invoice": "in_",
    "invoice_payment": "inpay_",
    "customer": "cus_",
    "event": "evt_",
    "price": "price_",
    "product": "prod_",
    "item": "li_",
    "request": "req_",
}

SESSION_CREATE_PARAMS = {
    "mode",
    "line_items",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "metadata",
    "expires_at",
    "customer_email",
    "customer",
    "customer_creation",
    "payment_intent_data",
    "subscription_data",
    "locale",
    "payment_method_types",
    "expand",
    "submit_type",
    "allow_promotion_codes",
    "billing_address_collection",
    "phone_number_collection",
    "custom_text",
    "automatic_tax",
    "invoice_creation",
}
LINE_ITEM_PARAMS = {"price", "price_data", "quantity", "adjustable_quantity", "tax_rates"}
PRORATION_BEHAVIOURS = ("always_invoice", "create_prorations", "none")
PAUSE_BEHAVIOURS = ("keep_as_draft", "mark_uncollectible", "void")
PRICE_DATA_PARAMS = {
    "currency",
    "unit_amount",
    "unit_amount_decimal",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
}
PRODUCT_DATA_PARAMS = {"name", "description", "images", "metadata", "tax_code", "unit_label"}
PAYMENT_INTENT_DATA_PARAMS = {
    "metadata",
    "description",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "capture_method",
    "setup_future_usage",
}
SUBSCRIPTION_DATA_PARAMS = {"metadata", "description", "trial_period_days"}
INTERVALS = {"day", "week", "month", "year"}
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


class StripeErrorResponse(Exception):
    """A Stripe-style error answer, raised inside an endpoint and sent as `{"error": {...}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = {"type": type, "message": message}
        if code is not None:
            self.error["code"] = code
        if param is not None:
            self.error["param"] = param


class _Hangup(Exception):
    """The fake was reset or stopped while a request hung: close the connection, answer nothing."""


def _missing(param: str) -> StripeErrorResponse:
    return StripeErrorResponse(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def _not_found(kind: str, object_id: str, param: str = "id") -> StripeErrorResponse:
    return StripeErrorResponse(
        404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


_BRACKETED = re.compile(r"\[([^\[\]]*)\]")


def parse_stripe_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nested params from Stripe's form encoding: `line_items[0][price_data][unit_amount]=5000`
    becomes `{"line_items": [{"price_data": {"unit_amount": "5000"}}]}`. Values stay strings, as
    on the wire; `a[]=x` appends."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        base, bracket, rest = key.partition("[")
        parts = [base, *(_BRACKETED.findall(bracket + rest) if bracket else [])]
        node = root
        for part in parts[:-1]:
            name = part or str(len(node))
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise StripeErrorResponse(400, f"Invalid hash: {key}", param=key)
            node = child
        last = parts[-1] or str(len(node))
        if isinstance(node.get(last), dict):
            raise StripeErrorResponse(400, f"Invalid hash: {key}", param=key)
        node[last] = value
    return _listify(root)


def _listify(node: Any, key: str | None = None) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {name: _listify(value, name) for name, value in node.items()}
    # Metadata keys may well be digits ("2026"); everything else indexed by digits is an array.
    if key != "metadata" and converted and all(name.isdigit() for name in converted):
        return [converted[name] for name in sorted(converted, key=int)]
    return converted


def _new_id(kind: str) -> str:
    return ID_PREFIXES[kind] + secrets.token_hex(12)


def _add_interval(timestamp: int, interval: str, count: int) -> int:
    if interval == "day":
        return timestamp + 86400 * count
    if interval == "week":
        return timestamp + 7 * 86400 * count
    start = datetime.fromtimestamp(timestamp, UTC)
    months = start.month - 1 + count * (12 if interval == "year" else 1)
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


@dataclass
class RecordedRequest:
    """One request the fake received, with its params parsed (values are strings, as sent)."""

    method: str
    path: str
    params: dict[str, Any]
    headers: Headers
    status: int | None = None

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class Delivery:
    """One webhook delivery attempt: what was sent and what the receiver answered.

    `status` is None when nothing answered (`error` says why) or when the event was held."""

    event: dict | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    error: str | None = None
    response_body: bytes = b""
    held: bool = False

    def __repr__(self) -> str:
        event = f"{self.event['type']} {self.event['id']}" if self.event else "raw body"
        outcome = "held" if self.held else (self.status if self.error is None else self.error)
        return f"<Delivery {event}: {outcome}>"

    @property
    def type(self) -> str | None:
        return self.event["type"] if self.event else None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Fault:
    method: str
    path: str
    remaining: int
    seconds: float = 0.0
    status: int | None = None
    type: str = "api_error"
    code: str | None = None
    message: str = ""

    def matches(self, method: str, path: str) -> bool:
        return self.method == method and fnmatch.fnmatchcase(path, self.path)


@dataclass
class _Saved:
    fingerprint: str
    status: int | None = None
    body: bytes = b""
    request_id: str = ""

    @property
    def in_progress(self) -> bool:
        return self.status is None


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"
    after: list[dict] = field(default_factory=list)


@dataclass
class _Context:
    request_id: str
    idempotency_key: str | None
    events: list[dict] = field(default_factory=list)


def flask_client_sender(client, path: str = "/stripe/webhook") -> Callable[[bytes, dict], int]:
    """A `webhook_sender` that posts deliveries through a Flask test client instead of HTTP."""

    def send(body: bytes, headers: dict) -> int:
        return client.post(path, data=body, headers=headers).status_code

    return send


class FakeStripe:
    """The fake Stripe server and its test controls. See the module docstring; start with
    `start()` (or use it as a context manager), point `stripe.StripeClient(...,
    base_addresses={"api": fake.url})` at it and set `webhook_url` or `webhook_sender`."""

    def __init__(self, *, api_version: str, webhook_secret: str = DEFAULT_WEBHOOK_SECRET) -> None:
        self.api_version = api_version
        self._default_webhook_secret = webhook_secret
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._abort = threading.Event()
        self._in_flight = 0
        self._reset_state()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-stripe",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._abort.set()  # wakes requests hanging in delay_next
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Stripe is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Forget every object, request, event, delivery, fault and setting: a fresh Stripe."""
        with self._lock:
            self._generation += 1
            self._abort.set()
            self._abort = threading.Event()
            self._reset_state()

    def _reset_state(self) -> None:
        self.webhook_url: str | None = None
        self.webhook_sender: Callable[[bytes, dict], int] | None = None
        self.webhook_secret = self._default_webhook_secret
        self.webhook_timeout = 10.0
        # Status of refunds created from now on: "succeeded", or "pending" until settle_refund().
        self.refund_status = "succeeded"
        # False: events caused by API calls wait in `pending` until flush(), so a delivery never
        # lands while the app's own request (and its transaction) is still open. True: each is
        # delivered right after the response, as Stripe does, for live-server tests.
        self.auto_deliver = False
        # When set, only this exact secret key is accepted; otherwise any sk_test_/rk_test_ key.
        self.api_key: str | None = None
        self._objects: dict[str, dict] = {}
        self._checkout_extras: dict[str, dict] = {}
        self._events: list[dict] = []
        self._pending: list[dict] = []
        self._held: list[dict] = []
        self._holding = False
        self._deliveries: list[Delivery] = []
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._idempotency: dict[tuple[str, str], _Saved] = {}
        self.internal_errors: list[str] = []

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request (or after-response delivery) is being handled."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    # --- faults ----------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        times: int = 1,
        type: str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next `times` requests matching method and path (a glob: "/v1/checkout/sessions/*")
        fail with a Stripe-style error. They fail before the idempotency layer, like a failure in
        front of Stripe: nothing is created and the key is not used up."""
        self._faults.append(
            _Fault(
                method.upper(),
                path,
                times,
                status=status,
                type=type or ("api_error" if status >= 500 else "invalid_request_error"),
                code=code,
                message=message or "An unknown error occurred (injected by the fake Stripe).",
            )
        )

    def delay_next(self, method: str, path: str, *, seconds: float, times: int = 1) -> None:
        """The next `times` matching requests hang for `seconds`, then are handled normally — as
        when Stripe is slow: a client that timed out has still created the object, and a retry
        with the same idempotency key meanwhile gets a 409 (the key is in use)."""
        self._faults.append(_Fault(method.upper(), path, times, seconds=seconds))

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
        return None

    # --- what the tests inspect ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str = "*") -> list[RecordedRequest]:
        """Recorded requests with this method whose path matches the glob."""
        return [
            r
            for r in self.requests
            if r.method == method.upper() and fnmatch.fnmatchcase(r.path, path)
        ]

    def last_request(self, method: str, path: str = "*") -> RecordedRequest:
        found = self.requests_to(method, path)
        if not found:
            seen = [f"{r.method} {r.path}" for r in self.requests]
            raise AssertionError(f"no {method} {path} request; received {seen}")
        return found[-1]

    def get(self, object_id: str) -> dict:
        """A copy of any stored object (session, payment intent, charge, refund, ...)."""
        with self._lock:
            if object_id not in self._objects:
                raise KeyError(object_id)
            return copy.deepcopy(self._objects[object_id])

    def objects(self, kind: str) -> list[dict]:
        """Copies of every stored object of a kind ("checkout.session", "refund", ...), oldest
        first."""
        with self._lock:
            return [copy.deepcopy(o) for o in self._objects.values() if o["object"] == kind]

    def sessions(self) -> list[dict]:
        return self.objects("checkout.session")

    @property
    def events(self) -> list[dict]:
        """Every event generated, oldest first."""
        with self._lock:
            return copy.deepcopy(self._events)

    def events_of(self, type: str) -> list[dict]:
        return [e for e in self.events if fnmatch.fnmatchcase(e["type"], type)]

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery attempt, in the order they were made (held ones are not attempts)."""
        with self._lock:
            return list(self._deliveries)

    @property
    def pending(self) -> list[dict]:
        """Events caused by API calls, waiting for flush()."""
        with self._lock:
            return copy.deepcopy(self._pending)

    @property
    def held(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._held)

    # --- webhook deliveries ----------------------------------------------------------------------

    def sign(
        self, payload: bytes | str, *, timestamp: int | None = None, secret: str | None = None
    ) -> str:
        """A Stripe-Signature header: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<payload>">."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        at = int(time.time()) if timestamp is None else int(timestamp)
        key = (secret if secret is not None else self.webhook_secret).encode("utf-8")
        digest = hmac.new(key, f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={at},v1={digest}"

    def hold_deliveries(self) -> None:
        """From now on events are kept in `held` instead of being delivered, until release()."""
        with self._lock:
            self._holding = True

    def release(
        self, order: Iterable[str | dict] | None = None, *, keep_holding: bool = False
    ) -> list[Delivery]:
        """Deliver held events: all in the order they happened, or those named in `order` (event
        ids, event types or events; naming one twice delivers it twice). Events not named stay
        held — lost until released or dropped."""
        with self._lock:
            self._holding = keep_holding
            held = list(self._held)
            if order is None:
                chosen = held
            else:
                chosen = []
                for wanted in order:
                    chosen.append(self._pick_held(wanted, held, chosen))
            chosen_ids = {e["id"] for e in chosen}
            self._held = [e for e in held if e["id"] not in chosen_ids]
        return [self._send(event) for event in chosen]

    def _pick_held(self, wanted: str | dict, held: list[dict], chosen: list[dict]) -> dict:
        if isinstance(wanted, dict):
            wanted = wanted["id"]
        by_id = [e for e in held if e["id"] == wanted]
        if by_id:
            return by_id[0]
        of_type = [e for e in held if e["type"] == wanted]
        if not of_type:
            raise ValueError(f"no held event is {wanted!r}; held: {[e['type'] for e in held]}")
        taken = {e["id"] for e in chosen}
        return next((e for e in of_type if e["id"] not in taken), of_type[0])

    def drop_held(self) -> list[dict]:
        """Forget held events, as if Stripe never managed to deliver them."""
        with self._lock:
            dropped, self._held = self._held, []
            return dropped

    def take_pending(self) -> list[dict]:
        """The events API calls caused, taken without delivering them (to deliver them late, or
        in another order, with `deliver`)."""
        with self._lock:
            events, self._pending = self._pending, []
        return events

    def flush(self) -> list[Delivery]:
        """Deliver the events API calls caused (refunds, API expiry, cancellations)."""
        with self._lock:
            events, self._pending = self._pending, []
        return self._dispatch(events)

    def deliver(
        self,
        event: str | dict | Delivery,
        *,
        times: int = 1,
        concurrently: bool = False,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> list[Delivery]:
        """Deliver an event (id, event or delivery) again, `times` times; all at the same moment
        when `concurrently`. `timestamp`/`secret` sign it stale or with the wrong secret."""
        resolved = self._resolve_event(event)
        if not concurrently or times == 1:
            return [self._send(resolved, timestamp=timestamp, secret=secret) for _ in range(times)]
        barrier = threading.Barrier(times)
        results: list[Delivery | None] = [None] * times
        errors: list[BaseException] = []

        def run(index: int) -> None:
            try:
                barrier.wait(timeout=5)
                results[index] = self._send(resolved, timestamp=timestamp, secret=secret)
            except BaseException as error:  # re-raised in the test's thread below
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=(i,), daemon=True, name=f"fake-stripe-deliver-{i}")
            for i in range(times)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.webhook_timeout + 5)
        if errors:
            raise errors[0]
        if any(r is None for r in results):
            raise TimeoutError("a concurrent delivery did not finish")
        return [r for r in results if r is not None]

    def deliver_raw(self, body: bytes, headers: dict[str, str]) -> Delivery:
        """Send any body with any headers to the webhook target (tampered bodies and the like)."""
        return self._post(None, body, headers)

    def _resolve_event(self, event: str | dict | Delivery) -> dict:
        if isinstance(event, Delivery):
            if event.event is None:
                raise ValueError("that delivery carried no event")
            return event.event
        if isinstance(event, dict):
            return event
        with self._lock:
            for stored in self._events:
                if stored["id"] == event:
                    return copy.deepcopy(stored)
        raise KeyError(event)

    def _dispatch(self, events: list[dict]) -> list[Delivery]:
        with self._lock:
            if self._holding:
                self._held.extend(events)
                return [Delivery(event=e, held=True) for e in events]
        return [self._send(event) for event in events]

    def _send(
        self, event: dict, *, timestamp: int | None = None, secret: str | None = None
    ) -> Delivery:
        # Stripe sends pretty-printed JSON; signing the exact bytes sent is what matters.
        body = json.dumps(event, indent=2).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": self.sign(body, timestamp=timestamp, secret=secret),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        return self._post(event, body, headers)

    def _post(self, event: dict | None, body: bytes, headers: dict[str, str]) -> Delivery:
        delivery = Delivery(event=copy.deepcopy(event), body=body, headers=dict(headers))
        sender, url = self.webhook_sender, self.webhook_url
        if sender is not None:
            delivery.status = int(sender(body, dict(headers)))
        elif url:
            self._post_http(url, delivery)
        else:
            delivery.error = "neither webhook_url nor webhook_sender is set"
        with self._lock:
            self._deliveries.append(delivery)
        return delivery

    def _post_http(self, url: str, delivery: Delivery) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError(f"webhook_url must be http://127.0.0.1:PORT/..., not {url!r}")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        # http.client rather than urllib: no proxy settings from the environment get in the way.
        connection = http.client.HTTPConnection(
            parts.hostname, parts.port or 80, timeout=self.webhook_timeout
        )
        try:
            connection.request("POST", target, body=delivery.body, headers=delivery.headers)
            response = connection.getresponse()
            delivery.response_body = response.read()
            delivery.status = response.status
        except OSError as error:
            delivery.error = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    # --- test controls: what happens on Stripe's side --------------------------------------------

    def complete(
        self,
        session_id: str,
        *,
        paid: bool = True,
        async_: bool = False,
        email: str | None = None,
        name: str | None = None,
    ) -> list[Delivery]:
        """The buyer finishes Checkout. Paid: payment_status "paid", a succeeded payment intent
        (payment mode) or an active subscription with a paid invoice (subscription mode).
        `async_` (or paid=False): the session completes with payment_status "unpaid" and the
        payment processing, as with a delayed payment method; async_result() settles it.
        Sends checkout.session.completed (and invoice.paid for a paid subscription)."""
        settled = paid and not async_
        with self._lock:
            session = self._open_session(session_id)
            now = self._now()
            session["status"] = "complete"
            session["url"] = None
            email = email or session["customer_email"] or "buyer@example.com"
            session["customer_details"] = {"email": email, "name": name, "phone": None}
            session["payment_status"] = "paid" if settled else "unpaid"
            invoice = None
            if session["mode"] == "payment":
                intent = self._new_payment_intent(session, succeeded=settled, email=email)
                session["payment_intent"] = intent["id"]
            else:
                if session["customer"] is None:
                    customer = self._store(
                        {
                            "id": _new_id("customer"),
                            "object": "customer",
                            "created": now,
                            "email": email,
                            "name": name,
                            "livemode": False,
                            "metadata": {},
                        }
                    )
                    session["customer"] = customer["id"]
                subscription = self._new_subscription(session, active=settled)
                session["subscription"] = subscription["id"]
                invoice = self._new_invoice(subscription, "subscription_create", paid=settled)
                session["invoice"] = invoice["id"]
            events = [self._event("checkout.session.completed", session)]
            if invoice is not None and settled:
                events.append(self._event("invoice.paid", invoice))
        return self._dispatch(events)

    def async_result(self, session_id: str, *, succeeded: bool = True) -> list[Delivery]:
        """The delayed payment of a completed, unpaid session succeeds or fails. Sends
        checkout.session.async_payment_succeeded / _failed (and invoice.paid /
        invoice.payment_failed in subscription mode)."""
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "complete" or session["payment_status"] != "unpaid":
                raise ValueError(f"{session_id} is not a completed session awaiting payment")
            invoice = None
            if session["mode"] == "payment":
                intent = self._objects[session["payment_intent"]]
                if succeeded:
                    self._succeed_payment_intent(intent, session["customer_details"]["email"])
                else:
                    intent["status"] = "requires_payment_method"
            else:
                subscription = self._objects[session["subscription"]]
                invoice = self._objects[session["invoice"]]
                if succeeded:
                    subscription["status"] = "active"
                    self._pay_invoice(invoice)
                else:
                    subscription["status"] = "incomplete_expired"
                    invoice["attempted"] = True
            if succeeded:
                session["payment_status"] = "paid"
                events = [self._event("checkout.session.async_payment_succeeded", session)]
            else:
                events = [self._event("checkout.session.async_payment_failed", session)]
            if invoice is not None:
                kind = "invoice.paid" if succeeded else "invoice.payment_failed"
                events.append(self._event(kind, invoice))
        return self._dispatch(events)

    def expire(self, session_id: str) -> list[Delivery]:
        """The session's time runs out (or the buyer abandons it). Sends
        checkout.session.expired."""
        with self._lock:
            session = self._open_session(session_id)
            self._expire_session(session)
            events = [self._event("checkout.session.expired", session)]
        return self._dispatch(events)

    def tamper(self, session_id: str, **fields: Any) -> dict:
        """Overwrite fields of a stored session (amount_total=..., currency=..., created=...) to
        simulate Stripe reporting something other than what the app asked for. Sends nothing;
        later retrievals, completion and its events carry the new values."""
        with self._lock:
            session = self._session(session_id)
            unknown = set(fields) - set(session)
            if unknown:
                raise ValueError(f"a Checkout Session has no {sorted(unknown)}")
            session.update(fields)
            return copy.deepcopy(session)

    def settle_refund(self, refund_id: str, *, succeeded: bool = True) -> list[Delivery]:
        """A pending refund succeeds or fails. Sends charge.refund.updated (data.object is the
        refund); a failed refund's amount is refundable again."""
        with self._lock:
            refund = self._objects.get(refund_id)
            if refund is None or refund["status"] != "pending":
                raise ValueError(f"{refund_id} is not a pending refund")
            refund["status"] = "succeeded" if succeeded else "failed"
            if not succeeded:
                refund["failure_reason"] = "unknown"
                charge = self._objects[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            events = [self._event("charge.refund.updated", refund, previous={"status": "pending"})]
        return self._dispatch(events)

    def refund_from_dashboard(
        self, payment_intent_id: str, amount: int | None = None
    ) -> list[Delivery]:
        """Someone refunds in Stripe's dashboard, not through the app. Sends charge.refunded."""
        with self._lock:
            events: list[dict] = []
            self._create_refund(payment_intent_id, amount, {}, None, events)
        return self._dispatch(events)

    def renew_subscription(self, subscription_id: str, *, paid: bool = True) -> list[Delivery]:
        """The next billing period: a new invoice, paid (invoice.paid) or not
        (invoice.payment_failed, then customer.subscription.updated to past_due); while its
        collection is paused, a voided invoice (invoice.voided) and nothing charged."""
        with self._lock:
            subscription = self._subscription(subscription_id)
            if subscription["status"] not in {"active", "past_due"}:
                raise ValueError(f"{subscription_id} is {subscription['status']}")
            for item in subscription["items"]["data"]:
                recurring = item["price"]["recurring"]
                item["current_period_start"] = item["current_period_end"]
                item["current_period_end"] = _add_interval(
                    item["current_period_end"], recurring["interval"], recurring["interval_count"]
                )
            if subscription.get("pause_collection"):
                # Collection paused (behavior void): the period's invoice is voided at once,
                # nothing is charged and the status stays.
                invoice = self._new_invoice(subscription, "subscription_cycle", paid=False)
                invoice["status"] = "void"
                invoice["attempted"] = False
                events = [self._event("invoice.voided", invoice)]
            else:
                events = self._charge_period(subscription, paid)
        return self._dispatch(events)

    def _charge_period(self, subscription: dict, paid: bool) -> list[dict]:
        """The period's invoice, paid or failed, and the status change it brings (its events)."""
        invoice = self._new_invoice(subscription, "subscription_cycle", paid=paid)
        subscription["latest_invoice"] = invoice["id"]
        previous_status = subscription["status"]
        events = [self._event("invoice.paid" if paid else "invoice.payment_failed", invoice)]
        subscription["status"] = "active" if paid else "past_due"
        if subscription["status"] != previous_status:
            events.append(
                self._event(
                    "customer.subscription.updated",
                    subscription,
                    previous={"status": previous_status},
                )
            )
        return events

    def update_subscription(self, subscription_id: str, **fields: Any) -> list[Delivery]:
        """Change a subscription's fields (status="past_due", cancel_at_period_end=True, ...).
        Sends customer.subscription.updated with previous_attributes."""
        with self._lock:
            subscription = self._subscription(subscription_id)
            previous = {name: copy.deepcopy(subscription.get(name)) for name in fields}
            subscription.update(fields)
            events = [self._event("customer.subscription.updated", subscription, previous=previous)]
        return self._dispatch(events)

    def cancel_subscription(self, subscription_id: str) -> list[Delivery]:
        """The subscription ends. Sends customer.subscription.deleted."""
        with self._lock:
            events = [self._cancel_subscription(self._subscription(subscription_id))]
        return self._dispatch(events)

    # --- the stored world ------------------------------------------------------------------------

    def _now(self) -> int:
        return int(time.time())

    def _store(self, obj: dict) -> dict:
        self._objects[obj["id"]] = obj
        return obj

    def _find(self, kind: str, object_id: str, param: str = "id") -> dict:
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise _not_found(kind, object_id, param)
        return obj

    def _session(self, session_id: str) -> dict:
        obj = self._objects.get(session_id)
        if obj is None or obj["object"] != "checkout.session":
            raise KeyError(f"no Checkout Session {session_id}")
        return obj

    def _open_session(self, session_id: str) -> dict:
        session = self._session(session_id)
        if session["status"] != "open":
            raise ValueError(f"{session_id} is {session['status']}, not open")
        return session

    def _subscription(self, subscription_id: str) -> dict:
        obj = self._objects.get(subscription_id)
        if obj is None or obj["object"] != "subscription":
            raise KeyError(f"no subscription {subscription_id}")
        return obj

    def _event(
        self,
        type: str,
        obj: dict,
        *,
        previous: dict | None = None,
        context: _Context | None = None,
    ) -> dict:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": _new_id("event"),
            "object": "event",
            "api_version": self.api_version,
            "created": self._now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {
                "id": context.request_id if context else None,
                "idempotency_key": context.idempotency_key if context else None,
            },
            "type": type,
        }
        self._events.append(event)
        if context is not None:
            context.events.append(event)
        return copy.deepcopy(event)

    def _expire_session(self, session: dict) -> None:
        session["status"] = "expired"
        session["url"] = None

    def _new_payment_intent(self, session: dict, *, succeeded: bool, email: str) -> dict:
        extras = self._checkout_extras[session["id"]]
        intent = self._store(
            {
                "id": _new_id("payment_intent"),
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_capturable": 0,
                "amount_received": 0,
                "created": self._now(),
                "currency": session["currency"],
                "customer": None,
                "description": extras["payment_intent_data"].get("description"),
                "latest_charge": None,
                "livemode": False,
                "metadata": dict(extras["payment_intent_data"].get("metadata") or {}),
                "payment_method_types": ["card"],
                "receipt_email": extras["payment_intent_data"].get("receipt_email"),
                "status": "processing",
            }
        )
        if succeeded:
            self._succeed_payment_intent(intent, email)
        return intent

    def _succeed_payment_intent(self, intent: dict, email: str | None) -> None:
        # As on Stripe, a hosted receipt page for the charge (pay.stripe.com/receipts/...), here
        # on the fake's own address, as its Checkout page is.
        receipt_token = secrets.token_urlsafe(24)
        charge = self._store(
            {
                "id": _new_id("charge"),
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": intent["amount"],
                "amount_refunded": 0,
                "billing_details": {"email": email},
                "captured": True,
                "created": self._now(),
                "currency": intent["currency"],
                "livemode": False,
                "metadata": dict(intent["metadata"]),
                "paid": True,
                "payment_intent": intent["id"],
                "receipt_email": intent.get("receipt_email"),
                "receipt_number": None,
                "receipt_url": f"{self.url}/receipts/payment/{receipt_token}",
                "refunded": False,
                "status": "succeeded",
            }
        )
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        intent["latest_charge"] = charge["id"]

    def _new_subscription(self, session: dict, *, active: bool) -> dict:
        extras = self._checkout_extras[session["id"]]
        now = self._now()
        subscription_id = _new_id("subscription")
        items = []
        for line in extras["line_items"]:
            recurring = line["price"]["recurring"]
            items.append(
                {
                    "id": _new_id("subscription_item"),
                    "object": "subscription_item",
                    "created": now,
                    "current_period_start": now,
                    "current_period_end": _add_interval(
                        now, recurring["interval"], recurring["interval_count"]
                    ),
                    "metadata": {},
                    "price": copy.deepcopy(line["price"]),
                    "quantity": line["quantity"],
                    "subscription": subscription_id,
                }
            )
        return self._store(
            {
                "id": subscription_id,
                "object": "subscription",
                "cancel_at_period_end": False,
                "canceled_at": None,
                "created": now,
                "currency": session["currency"],
                "customer": session["customer"],
                "ended_at": None,
                "items": {
                    "object": "list",
                    "data": items,
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={subscription_id}",
                },
                "latest_invoice": None,
                "livemode": False,
                "metadata": dict(extras["subscription_data"].get("metadata") or {}),
                "pause_collection": None,
                "start_date": now,
                "status": "active" if active else "incomplete",
            }
        )

    def _new_invoice(self, subscription: dict, billing_reason: str, *, paid: bool) -> dict:
        items = subscription["items"]["data"]
        amount = sum(item["price"]["unit_amount"] * item["quantity"] for item in items)
        customer = self._objects[subscription["customer"]]
        invoice_id = _new_id("invoice")
        invoice = self._store(
            {
                "id": invoice_id,
                "object": "invoice",
                "amount_due": amount,
                "amount_paid": 0,
                "amount_remaining": amount,
                "attempted": False,
                "billing_reason": billing_reason,
                "created": self._now(),
                "currency": subscription["currency"],
                "customer": subscription["customer"],
                "customer_email": customer["email"],
                # As on Stripe, a hosted page where the customer pays the invoice (with another
                # card, after a failed renewal), here on the fake's own address.
                "hosted_invoice_url": f"{self.url}/invoices/{invoice_id}",
                "livemode": False,
                "metadata": {},
                # Since API version 2025-03-31 the subscription is under parent, not on the invoice.
                "parent": {
                    "type": "subscription_details",
                    "quote_details": None,
                    "subscription_details": {
                        "subscription": subscription["id"],
                        "metadata": dict(subscription["metadata"]),
                    },
                },
                "period_start": items[0]["current_period_start"],
                "period_end": items[0]["current_period_end"],
                "status": "open",
                "status_transitions": {"paid_at": None},
            }
        )
        subscription["latest_invoice"] = invoice["id"]
        if paid:
            self._pay_invoice(invoice)
        else:
            invoice["attempted"] = billing_reason != "subscription_create"
        return invoice

    def _pay_invoice(self, invoice: dict) -> None:
        """The invoice is paid, as on Stripe, by a payment intent with its charge; the invoice
        payment between them is the only link (neither the invoice nor the charge names the
        other since API version 2025-03-31)."""
        invoice["status"] = "paid"
        invoice["attempted"] = True
        invoice["amount_paid"] = invoice["amount_due"]
        invoice["amount_remaining"] = 0
        invoice["status_transitions"] = {"paid_at": self._now()}
        if invoice["amount_paid"] <= 0:
            return
        intent = self._store(
            {
                "id": _new_id("payment_intent"),
                "object": "payment_intent",
                "amount": invoice["amount_paid"],
                "amount_capturable": 0,
                "amount_received": 0,
                "created": self._now(),
                "currency": invoice["currency"],
                "customer": invoice["customer"],
                "description": "Subscription update"
                if invoice["billing_reason"] != "subscription_create"
                else "Subscription creation",
                "latest_charge": None,
                "livemode": False,
                "metadata": {},
                "payment_method_types": ["card"],
                "receipt_email": None,
                "status": "processing",
            }
        )
        self._succeed_payment_intent(intent, invoice.get("customer_email"))
        self._store(
            {
                "id": _new_id("invoice_payment"),
                "object": "invoice_payment",
                "amount_paid": invoice["amount_paid"],
                "amount_requested": invoice["amount_paid"],
                "created": self._now(),
                "currency": invoice["currency"],
                "invoice": invoice["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
                "status": "paid",
                "status_transitions": {"canceled_at": None, "paid_at": self._now()},
            }
        )

    def payment_intent_of_invoice(self, invoice_id: str) -> str:
        """The payment intent that paid this invoice (for a test that refunds it by hand)."""
        with self._lock:
            for payment in self._objects.values():
                if payment["object"] == "invoice_payment" and payment["invoice"] == invoice_id:
                    return payment["payment"]["payment_intent"]
        raise KeyError(f"no payment of {invoice_id}")

    def _cancel_subscription(self, subscription: dict, context: _Context | None = None) -> dict:
        if subscription["status"] == "canceled":
            raise StripeErrorResponse(
                400,
                f"A canceled subscription can only update its cancellation_details and "
                f"metadata. ({subscription['id']})",
            )
        now = self._now()
        subscription["status"] = "canceled"
        subscription["canceled_at"] = now
        subscription["ended_at"] = now
        return self._event("customer.subscription.deleted", subscription, context=context)

    def _create_refund(
        self,
        payment_intent_id: str,
        amount: int | None,
        metadata: dict,
        reason: str | None,
        events: list[dict],
        context: _Context | None = None,
    ) -> dict:
        intent = self._find("payment_intent", payment_intent_id, "payment_intent")
        if intent["latest_charge"] is None:
            raise StripeErrorResponse(
                400,
                f"This PaymentIntent ({payment_intent_id}) does not have a successful charge to "
                f"refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        charge = self._objects[intent["latest_charge"]]
        refundable = charge["amount"] - charge["amount_refunded"]
        if refundable <= 0:
            raise StripeErrorResponse(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount is None:
            amount = refundable
        if amount <= 0:
            raise StripeErrorResponse(
                400, "Refund amount must be positive.", code="amount_too_small", param="amount"
            )
        if amount > refundable:
            raise StripeErrorResponse(
                400,
                f"Refund amount ({amount} {charge['currency']}) is greater than unrefunded "
                f"amount on charge ({refundable} {charge['currency']})",
                code="amount_too_large",
                param="amount",
            )
        refund = self._store(
            {
                "id": _new_id("refund"),
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "created": self._now(),
                "currency": charge["currency"],
                "metadata": metadata,
                "payment_intent": intent["id"],
                "reason": reason,
                "status": self.refund_status,
            }
        )
        # As on Stripe, a pending refund already counts in amount_refunded.
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        events.append(self._event("charge.refunded", charge, context=context))
        return refund

    # --- HTTP: parsing, auth, idempotency, faults ------------------------------------------------

    def _handle_http(self, method: str, raw_path: str, headers: Headers, body: bytes) -> _Answer:
        parts = urlsplit(raw_path)
        if parts.path.startswith("/pay/"):
            return self._pay_page(method, parts.path.removeprefix("/pay/"), body)
        if parts.path.startswith("/receipts/payment/"):
            return self._receipt_page(method, parts.path)
        if parts.path.startswith("/invoices/"):
            return self._invoice_page(method, parts.path.removeprefix("/invoices/"))
        record = RecordedRequest(method, parts.path, {}, headers)
        with self._lock:
            self._requests.append(record)
            generation = self._generation
            abort = self._abort
            self._in_flight += 1
        answer: _Answer | None = None
        try:
            try:
                answer = self._answer_api(record, parts.query, body, generation, abort)
            except StripeErrorResponse as error:
                answer = self._error_answer(error)
            record.status = answer.status
            return answer
        finally:
            # With deliveries to make after the response, the request stays in flight until
            # _after_response() has made them, so wait_idle() covers them too.
            if answer is None or not answer.after:
                self._done()

    def _done(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def _answer_api(
        self,
        record: RecordedRequest,
        query: str,
        body: bytes,
        generation: int,
        abort: threading.Event,
    ) -> _Answer:
        pairs = parse_qsl(query, keep_blank_values=True)
        if body:
            content_type = record.headers.get("Content-Type", "")
            if not content_type.startswith("application/x-www-form-urlencoded"):
                raise StripeErrorResponse(
                    400, f"Invalid request: unsupported Content-Type {content_type}."
                )
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        record.params = parse_stripe_form(pairs)
        api_key = self._authenticate(record.headers)
        fault = self._take_fault(record.method, record.path)
        if fault is not None and fault.status is not None:
            raise StripeErrorResponse(fault.status, fault.message, type=fault.type, code=fault.code)
        handler, arguments = self._route(record.method, record.path)
        key = record.idempotency_key if record.method == "POST" else None
        context = _Context(request_id=_new_id("request"), idempotency_key=key)
        fingerprint = json.dumps([record.method, record.path, record.params], sort_keys=True)
        if key:
            replay = self._claim_idempotency_key((api_key, key), fingerprint, context)
            if replay is not None:
                return replay
        answer: _Answer | None = None
        try:
            if fault is not None and fault.seconds:
                abort.wait(fault.seconds)
            with self._lock:
                if generation != self._generation or self._server is None:
                    raise _Hangup
                try:
                    status, obj = handler(record.params, context, **arguments)
                    answer = _Answer(status, json.dumps(obj, indent=2).encode("utf-8"))
                except StripeErrorResponse as error:
                    answer = self._error_answer(error)
                if not answer.headers:
                    answer.headers.append(("Request-Id", context.request_id))
                if key:
                    self._settle_idempotency_key((api_key, key), answer, context)
                if context.events:
                    if self.auto_deliver:
                        answer.after = context.events
                    else:
                        self._pending.extend(context.events)
                return answer
        finally:
            if key and answer is None:
                with self._lock:
                    if generation == self._generation:
                        self._idempotency.pop((api_key, key), None)

    def _claim_idempotency_key(
        self, scope: tuple[str, str], fingerprint: str, context: _Context
    ) -> _Answer | None:
        with self._lock:
            saved = self._idempotency.get(scope)
            if saved is None:
                self._idempotency[scope] = _Saved(fingerprint, request_id=context.request_id)
                return None
            if saved.in_progress:
                raise StripeErrorResponse(
                    409,
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    "going through): " + scope[1] + ". Please try again later.",
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                )
            if saved.fingerprint != fingerprint:
                raise StripeErrorResponse(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than '"
                    + scope[1]
                    + "' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            assert saved.status is not None
            return _Answer(
                saved.status,
                saved.body,
                [
                    ("Idempotent-Replayed", "true"),
                    ("Original-Request", saved.request_id),
                    ("Request-Id", context.request_id),
                ],
            )

    def _settle_idempotency_key(
        self, scope: tuple[str, str], answer: _Answer, context: _Context
    ) -> None:
        # Like Stripe, a request refused by validation does not use up its key.
        if 200 <= answer.status < 300:
            saved = self._idempotency[scope]
            saved.status, saved.body = answer.status, answer.body
        else:
            self._idempotency.pop(scope, None)

    def _authenticate(self, headers: Headers) -> str:
        authorization = headers.get("Authorization", "")
        if not authorization:
            raise StripeErrorResponse(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        scheme, _, key = authorization.partition(" ")
        valid = scheme.lower() == "bearer" and key.startswith(("sk_test_", "rk_test_"))
        if not valid or (self.api_key is not None and key != self.api_key):
            masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
            raise StripeErrorResponse(401, f"Invalid API Key provided: {masked}")
        return key

    def _error_answer(self, error: StripeErrorResponse) -> _Answer:
        return _Answer(
            error.status,
            json.dumps({"error": error.error}, indent=2).encode("utf-8"),
            [("Request-Id", _new_id("request"))],
        )

    _ROUTES = (
        ("POST", r"/v1/checkout/sessions", "_api_create_session"),
        ("GET", r"/v1/checkout/sessions", "_api_list_sessions"),
        ("GET", r"/v1/checkout/sessions/(?P<object_id>[^/]+)", "_api_retrieve_session"),
        ("POST", r"/v1/checkout/sessions/(?P<object_id>[^/]+)/expire", "_api_expire_session"),
        ("GET", r"/v1/checkout/sessions/(?P<object_id>[^/]+)/line_items", "_api_line_items"),
        ("GET", r"/v1/payment_intents/(?P<object_id>[^/]+)", "_api_retrieve_payment_intent"),
        ("GET", r"/v1/charges/(?P<object_id>[^/]+)", "_api_retrieve_charge"),
        ("POST", r"/v1/refunds", "_api_create_refund"),
        ("GET", r"/v1/refunds", "_api_list_refunds"),
        ("GET", r"/v1/refunds/(?P<object_id>[^/]+)", "_api_retrieve_refund"),
        ("GET", r"/v1/subscriptions/(?P<object_id>[^/]+)", "_api_retrieve_subscription"),
        ("POST", r"/v1/subscriptions/(?P<object_id>[^/]+)", "_api_update_subscription"),
        ("DELETE", r"/v1/subscriptions/(?P<object_id>[^/]+)", "_api_cancel_subscription"),
        ("GET", r"/v1/invoices/(?P<object_id>[^/]+)", "_api_retrieve_invoice"),
        ("GET", r"/v1/invoice_payments", "_api_list_invoice_payments"),
        ("GET", r"/v1/customers/(?P<object_id>[^/]+)", "_api_retrieve_customer"),
        ("GET", r"/v1/events", "_api_list_events"),
        ("GET", r"/v1/events/(?P<object_id>[^/]+)", "_api_retrieve_event"),
    )

    def _route(self, method: str, path: str) -> tuple[Callable[..., tuple[int, dict]], dict]:
        for route_method, pattern, name in self._ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return getattr(self, name), match.groupdict()
        raise StripeErrorResponse(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            f"or we can help at https://support.stripe.com/.",
        )

    # --- HTTP: endpoints (called with the lock held) ---------------------------------------------

    def _api_create_session(self, params: dict, context: _Context) -> tuple[int, dict]:
        _reject_unknown(params, SESSION_CREATE_PARAMS)
        mode = params.get("mode")
        if not mode:
            raise _missing("mode")
        if mode not in {"payment", "subscription"}:
            raise StripeErrorResponse(
                400,
                f"Invalid mode: must be one of payment or subscription (the fake Stripe does not "
                f"do {mode!r}).",
                param="mode",
            )
        for name in ("success_url", "cancel_url"):
            url = params.get(name)
            if not url:
                raise _missing(name)
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise StripeErrorResponse(400, "Not a valid URL", code="url_invalid", param=name)
        line_items, currency, total = self._line_items(params.get("line_items"), mode)
        now = self._now()
        expires_at = now + MAX_EXPIRY_SECONDS
        if params.get("expires_at") not in (None, ""):
            expires_at = _integer(params["expires_at"], "expires_at")
            if not now + MIN_EXPIRY_SECONDS <= expires_at <= now + MAX_EXPIRY_SECONDS:
                raise StripeErrorResponse(
                    400,
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                    "Checkout Session creation.",
                    param="expires_at",
                )
        metadata = _metadata(params.get("metadata"), "metadata")
        reference = params.get("client_reference_id")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 200):
            raise StripeErrorResponse(
                400,
                "client_reference_id must be at most 200 characters.",
                param="client_reference_id",
            )
        email = params.get("customer_email") or None
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise StripeErrorResponse(
                400, f"Invalid email address: {email}", code="email_invalid", param="customer_email"
            )
        customer = params.get("customer") or None
        if customer is not None:
            if email is not None:
                raise StripeErrorResponse(
                    400,
                    "You may only specify one of these parameters: customer, customer_email.",
                    param="customer_email",
                )
            self._find("customer", customer, "customer")
        payment_intent_data = _hash(params.get("payment_intent_data"), "payment_intent_data")
        subscription_data = _hash(params.get("subscription_data"), "subscription_data")
        if payment_intent_data and mode != "payment":
            raise StripeErrorResponse(
                400,
                "You can not pass `payment_intent_data` in `subscription` mode.",
                param="payment_intent_data",
            )
        if subscription_data and mode != "subscription":
            raise StripeErrorResponse(
                400,
                "You can not pass `subscription_data` in `payment` mode.",
                param="subscription_data",
            )
        _reject_unknown(payment_intent_data, PAYMENT_INTENT_DATA_PARAMS, "payment_intent_data")
        _reject_unknown(subscription_data, SUBSCRIPTION_DATA_PARAMS, "subscription_data")
        payment_intent_data["metadata"] = _metadata(
            payment_intent_data.get("metadata"), "payment_intent_data[metadata]"
        )
        subscription_data["metadata"] = _metadata(
            subscription_data.get("metadata"), "subscription_data[metadata]"
        )
        session_id = _new_id("checkout.session")
        session = self._store(
            {
                "id": session_id,
                "object": "checkout.session",
                "amount_subtotal": total,
                "amount_total": total,
                "cancel_url": params["cancel_url"],
                "client_reference_id": reference,
                "created": now,
                "currency": currency,
                "customer": customer,
                "customer_details": None,
                "customer_email": email,
                "expires_at": expires_at,
                "invoice": None,
                "livemode": False,
                "locale": params.get("locale"),
                "metadata": metadata,
                "mode": mode,
                "payment_intent": None,  # created when the buyer pays, as on Stripe
                "payment_method_types": ["card"],
                "payment_status": "unpaid",
                "status": "open",
                "subscription": None,
                "success_url": params["success_url"],
                "ui_mode": "hosted",
                "url": f"{self.url}/pay/{session_id}",
            }
        )
        self._checkout_extras[session_id] = {
            "line_items": line_items,
            "payment_intent_data": payment_intent_data,
            "subscription_data": subscription_data,
        }
        return 200, self._expand(session, params)

    def _line_items(self, items: Any, mode: str) -> tuple[list[dict], str, int]:
        if not items:
            raise _missing("line_items")
        if not isinstance(items, list):
            raise StripeErrorResponse(400, "Invalid array", param="line_items")
        currency: str | None = None
        total = 0
        lines = []
        for index, item in enumerate(items):
            prefix = f"line_items[{index}]"
            if not isinstance(item, dict):
                raise StripeErrorResponse(400, "Invalid object", param=prefix)
            _reject_unknown(item, LINE_ITEM_PARAMS, prefix)
            if item.get("price"):
                raise _not_found("price", item["price"], f"{prefix}[price]")
            price_data = item.get("price_data")
            if not isinstance(price_data, dict):
                raise _missing(f"{prefix}[price_data]")
            _reject_unknown(price_data, PRICE_DATA_PARAMS, f"{prefix}[price_data]")
            item_currency = str(price_data.get("currency") or "").lower()
            if not item_currency:
                raise _missing(f"{prefix}[price_data][currency]")
            if item_currency not in MINIMUM_CHARGE:
                raise StripeErrorResponse(
                    400,
                    f"Invalid currency: {item_currency}. Stripe currently supports these "
                    f"currencies: {', '.join(sorted(MINIMUM_CHARGE))}",
                    param=f"{prefix}[price_data][currency]",
                )
            if currency is not None and item_currency != currency:
                raise StripeErrorResponse(
                    400,
                    "All line items must use the same currency.",
                    param=f"{prefix}[price_data][currency]",
                )
            currency = item_currency
            amount_param = f"{prefix}[price_data][unit_amount]"
            if price_data.get("unit_amount") in (None, ""):
                raise _missing(amount_param)
            unit_amount = _integer(price_data["unit_amount"], amount_param)
            if unit_amount < 0:
                raise StripeErrorResponse(
                    400, "This value must be greater than or equal to 0.", param=amount_param
                )
            product_data = price_data.get("product_data")
            if price_data.get("product"):
                raise _not_found("product", price_data["product"], f"{prefix}[price_data][product]")
            if not isinstance(product_data, dict) or not product_data.get("name"):
                raise _missing(f"{prefix}[price_data][product_data][name]")
            _reject_unknown(
                product_data, PRODUCT_DATA_PARAMS, f"{prefix}[price_data][product_data]"
            )
            if item.get("quantity") in (None, ""):
                raise _missing(f"{prefix}[quantity]")
            quantity = _integer(item["quantity"], f"{prefix}[quantity]")
            if quantity < 1:
                raise StripeErrorResponse(
                    400, "Quantity must be at least 1.", param=f"{prefix}[quantity]"
                )
            recurring = self._recurring(price_data.get("recurring"), mode, prefix)
            total += unit_amount * quantity
            lines.append(
                {
                    "id": _new_id("item"),
                    "object": "item",
                    "amount_subtotal": unit_amount * quantity,
                    "amount_total": unit_amount * quantity,
                    "currency": currency,
                    "description": product_data["name"],
                    "quantity": quantity,
                    "price": {
                        "id": _new_id("price"),
                        "object": "price",
                        "active": False,
                        "currency": currency,
                        "livemode": False,
                        "product": _new_id("product"),
                        "recurring": recurring,
                        "type": "recurring" if recurring else "one_time",
                        "unit_amount": unit_amount,
                    },
                }
            )
        assert currency is not None
        if total < MINIMUM_CHARGE[currency]:
            raise StripeErrorResponse(
                400,
                f"The Checkout Session's total amount due must add up to at least "
                f"{MINIMUM_CHARGE[currency]} {currency} (in the currency's smallest unit).",
                code="amount_too_small",
                param="line_items[0][price_data][unit_amount]",
            )
        if total > MAXIMUM_CHARGE:
            raise StripeErrorResponse(
                400,
                f"The Checkout Session's total amount due must be no more than {MAXIMUM_CHARGE} "
                f"{currency} (in the currency's smallest unit).",
                code="amount_too_large",
                param="line_items[0][price_data][unit_amount]",
            )
        return lines, currency, total

    def _recurring(self, recurring: Any, mode: str, prefix: str) -> dict | None:
        param = f"{prefix}[price_data][recurring]"
        if mode == "payment":
            if recurring:
                raise StripeErrorResponse(
                    400,
                    "You specified `payment` mode but passed a recurring price. Either switch to "
                    "`subscription` mode or use only one-time prices.",
                    param=param,
                )
            return None
        if not isinstance(recurring, dict) or not recurring.get("interval"):
            raise StripeErrorResponse(
                400,
                "You must provide at least one recurring price in `subscription` mode when using "
                "prices.",
                param=param,
            )
        _reject_unknown(recurring, {"interval", "interval_count"}, param)
        if recurring["interval"] not in INTERVALS:
            raise StripeErrorResponse(
                400,
                f"Invalid interval: must be one of {', '.join(sorted(INTERVALS))}",
                param=f"{param}[interval]",
            )
        count = _integer(recurring.get("interval_count", "1"), f"{param}[interval_count]")
        return {
            "interval": recurring["interval"],
            "interval_count": count,
            "usage_type": "licensed",
        }

    def _api_list_sessions(self, params: dict, context: _Context) -> tuple[int, dict]:
        _reject_unknown(
            params,
            {
                "created",
                "limit",
                "starting_after",
                "ending_before",
                "status",
                "payment_intent",
                "subscription",
                "customer",
                "expand",
            },
        )
        sessions = [o for o in self._objects.values() if o["object"] == "checkout.session"]
        for name in ("status", "payment_intent", "subscription", "customer"):
            if params.get(name):
                sessions = [s for s in sessions if s[name] == params[name]]
        return 200, self._list(sessions, params, "/v1/checkout/sessions")

    def _api_retrieve_session(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        _reject_unknown(params, {"expand"})
        return 200, self._expand(self._find("checkout.session", object_id, "session"), params)

    def _api_expire_session(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        _reject_unknown(params, {"expand"})
        session = self._find("checkout.session", object_id, "session")
        if session["status"] != "open":
            raise StripeErrorResponse(
                400,
                f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                f"Session has a status of {session['status']!r}.",
            )
        self._expire_session(session)
        self._event("checkout.session.expired", session, context=context)
        return 200, self._expand(session, params)

    def _api_line_items(self, params: dict, context: _Context, object_id: str) -> tuple[int, dict]:
        _reject_unknown(params, {"limit", "starting_after", "ending_before", "expand"})
        self._find("checkout.session", object_id, "session")
        lines = list(reversed(self._checkout_extras[object_id]["line_items"]))
        return 200, self._list(lines, params, f"/v1/checkout/sessions/{object_id}/line_items")

    def _api_retrieve_payment_intent(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        return self._retrieve("payment_intent", object_id, params)

    def _api_retrieve_charge(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        return self._retrieve("charge", object_id, params)

    def _api_retrieve_refund(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        return self._retrieve("refund", object_id, params)

    def _api_retrieve_subscription(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        return self._retrieve("subscription", object_id, params)

    def _api_retrieve_invoice(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        return self._retrieve("invoice", object_id, params)

    def _api_retrieve_customer(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        return self._retrieve("customer", object_id, params)

    def _api_retrieve_event(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        _reject_unknown(params, {"expand"})
        for event in self._events:
            if event["id"] == object_id:
                return 200, copy.deepcopy(event)
        raise _not_found("event", object_id)

    def _retrieve(self, kind: str, object_id: str, params: dict) -> tuple[int, dict]:
        _reject_unknown(params, {"expand"})
        return 200, self._expand(self._find(kind, object_id), params)

    def _api_create_refund(self, params: dict, context: _Context) -> tuple[int, dict]:
        _reject_unknown(
            params,
            {
                "payment_intent",
                "charge",
                "amount",
                "metadata",
                "reason",
                "expand",
                "instructions_email",
            },
        )
        intent_id = params.get("payment_intent")
        if params.get("charge"):
            charge = self._find("charge", params["charge"], "charge")
            if intent_id and intent_id != charge["payment_intent"]:
                raise StripeErrorResponse(
                    400, "The charge does not belong to this PaymentIntent.", param="charge"
                )
            intent_id = charge["payment_intent"]
        if not intent_id:
            raise StripeErrorResponse(
                400,
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        amount = None
        if params.get("amount") not in (None, ""):
            amount = _integer(params["amount"], "amount")
        reason = params.get("reason") or None
        if reason is not None and reason not in REFUND_REASONS:
            raise StripeErrorResponse(
                400,
                f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}",
                param="reason",
            )
        metadata = _metadata(params.get("metadata"), "metadata")
        refund = self._create_refund(intent_id, amount, metadata, reason, [], context)
        return 200, self._expand(refund, params)

    def _api_list_invoice_payments(self, params: dict, context: _Context) -> tuple[int, dict]:
        _reject_unknown(
            params,
            {"invoice", "payment", "status", "created", "limit", "starting_after", "ending_before"},
        )
        found = [o for o in self._objects.values() if o["object"] == "invoice_payment"]
        if params.get("invoice"):
            found = [o for o in found if o["invoice"] == params["invoice"]]
        if params.get("status"):
            if params["status"] not in {"canceled", "open", "paid"}:
                raise StripeErrorResponse(400, "Invalid status.", param="status")
            found = [o for o in found if o["status"] == params["status"]]
        payment = params.get("payment")
        if payment is not None:
            payment = _hash(payment, "payment")
            _reject_unknown(payment, {"type", "payment_intent", "payment_record"}, "payment")
            if payment.get("type") not in {"payment_intent", "payment_record"}:
                raise StripeErrorResponse(400, "Invalid payment[type].", param="payment[type]")
            if payment.get("payment_intent"):
                found = [
                    o
                    for o in found
                    if o["payment"].get("payment_intent") == payment["payment_intent"]
                ]
        return 200, self._list(found, params, "/v1/invoice_payments")

    def _api_list_refunds(self, params: dict, context: _Context) -> tuple[int, dict]:
        _reject_unknown(
            params,
            {"payment_intent", "charge", "created", "limit", "starting_after", "ending_before"},
        )
        refunds = [o for o in self._objects.values() if o["object"] == "refund"]
        for name in ("payment_intent", "charge"):
            if params.get(name):
                refunds = [r for r in refunds if r[name] == params[name]]
        return 200, self._list(refunds, params, "/v1/refunds")

    def _api_update_subscription(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        _reject_unknown(
            params,
            {
                "metadata",
                "cancel_at_period_end",
                "expand",
                "items",
                "proration_behavior",
                "pause_collection",
            },
        )
        subscription = self._find("subscription", object_id, "subscription")
        if subscription["status"] == "canceled":
            raise StripeErrorResponse(
                400,
                f"A canceled subscription can only update its cancellation_details and "
                f"metadata. ({object_id})",
            )
        previous: dict[str, Any] = {}
        behaviour = params.get("proration_behavior")
        if behaviour is not None and behaviour not in PRORATION_BEHAVIOURS:
            raise StripeErrorResponse(
                400,
                f"Invalid proration_behavior: must be one of {', '.join(PRORATION_BEHAVIOURS)}",
                param="proration_behavior",
            )
        new_items = (
            self._updated_items(subscription, params["items"]) if "items" in params else None
        )
        pause = (
            self._pause_collection(params["pause_collection"])
            if "pause_collection" in params
            else ()
        )
        if "metadata" in params:
            previous["metadata"] = dict(subscription["metadata"])
            changes = _hash(params["metadata"], "metadata")
            _metadata(changes, "metadata")
            for key, value in changes.items():
                if value == "":
                    subscription["metadata"].pop(key, None)
                else:
                    subscription["metadata"][key] = value
        if "cancel_at_period_end" in params:
            value = params["cancel_at_period_end"]
            if value not in ("true", "false"):
                raise StripeErrorResponse(
                    400, "Invalid boolean: " + str(value), param="cancel_at_period_end"
                )
            previous["cancel_at_period_end"] = subscription["cancel_at_period_end"]
            subscription["cancel_at_period_end"] = value == "true"
        if new_items is not None:
            previous["items"] = copy.deepcopy(subscription["items"])
            subscription["items"]["data"] = new_items
        if pause != ():
            previous["pause_collection"] = copy.deepcopy(subscription.get("pause_collection"))
            subscription["pause_collection"] = pause
        if previous:
            self._event(
                "customer.subscription.updated", subscription, previous=previous, context=context
            )
        return 200, self._expand(subscription, params)

    def _updated_items(self, subscription: dict, items: Any) -> list[dict]:
        """The subscription's items with new prices (each `{id, price_data}`), as Stripe does:
        an unknown item is refused, the product must be the item's own."""
        if not isinstance(items, list) or not items:
            raise StripeErrorResponse(400, "Invalid array", param="items")
        current = {item["id"]: item for item in subscription["items"]["data"]}
        updated = copy.deepcopy(subscription["items"]["data"])
        for index, change in enumerate(items):
            prefix = f"items[{index}]"
            if not isinstance(change, dict):
                raise StripeErrorResponse(400, "Invalid object", param=prefix)
            _reject_unknown(change, {"id", "price_data"}, prefix)
            item = current.get(change.get("id") or "")
            if item is None:
                raise _not_found("subscription_item", str(change.get("id")), f"{prefix}[id]")
            price_data = change.get("price_data")
            if not isinstance(price_data, dict):
                raise _missing(f"{prefix}[price_data]")
            _reject_unknown(price_data, {"currency", "product", "unit_amount", "recurring"}, prefix)
            if price_data.get("product") != item["price"]["product"]:
                raise _not_found(
                    "product", str(price_data.get("product")), f"{prefix}[price_data][product]"
                )
            if str(price_data.get("currency") or "").lower() != subscription["currency"]:
                raise StripeErrorResponse(
                    400,
                    "The price's currency must be the subscription's.",
                    param=f"{prefix}[price_data][currency]",
                )
            unit_amount = _integer(
                price_data.get("unit_amount", ""), f"{prefix}[price_data][unit_amount]"
            )
            if unit_amount < MINIMUM_CHARGE[subscription["currency"]]:
                raise StripeErrorResponse(
                    400,
                    "The amount is below the currency's smallest charge.",
                    code="amount_too_small",
                    param=f"{prefix}[price_data][unit_amount]",
                )
            recurring = self._recurring(price_data.get("recurring"), "subscription", prefix)
            target = next(entry for entry in updated if entry["id"] == item["id"])
            target["price"] = {
                **item["price"],
                "id": _new_id("price"),
                "recurring": recurring,
                "unit_amount": unit_amount,
            }
        return updated

    def _pause_collection(self, value: Any) -> dict | None:
        if value == "":
            return None  # Stripe's way of unsetting a field
        if not isinstance(value, dict):
            raise StripeErrorResponse(400, "Invalid object", param="pause_collection")
        _reject_unknown(value, {"behavior", "resumes_at"}, "pause_collection")
        if value.get("behavior") not in PAUSE_BEHAVIOURS:
            raise StripeErrorResponse(
                400,
                f"Invalid behavior: must be one of {', '.join(PAUSE_BEHAVIOURS)}",
                param="pause_collection[behavior]",
            )
        return {"behavior": value["behavior"], "resumes_at": None}

    def _api_cancel_subscription(
        self, params: dict, context: _Context, object_id: str
    ) -> tuple[int, dict]:
        _reject_unknown(params, {"expand", "invoice_now", "prorate", "cancellation_details"})
        subscription = self._find("subscription", object_id, "subscription")
        self._cancel_subscription(subscription, context)
        return 200, self._expand(subscription, params)

    def _api_list_events(self, params: dict, context: _Context) -> tuple[int, dict]:
        _reject_unknown(
            params, {"created", "limit", "starting_after", "ending_before", "type", "types"}
        )
        events = list(self._events)
        patterns = []
        if params.get("type"):
            patterns.append(params["type"])
        if params.get("types"):
            types = params["types"]
            patterns.extend(types if isinstance(types, list) else [types])
        if patterns:
            events = [e for e in events if any(fnmatch.fnmatchcase(e["type"], p) for p in patterns)]
        return 200, self._list(events, params, "/v1/events")

    def _list(self, objects: list[dict], params: dict, url: str) -> dict:
        """A page of a Stripe list, newest first, with created[gte|gt|lte|lt], limit,
        starting_after and ending_before."""
        limit = _integer(params.get("limit", "10"), "limit")
        if not 1 <= limit <= 100:
            raise StripeErrorResponse(400, "This value must be between 1 and 100.", param="limit")
        newest_first = list(reversed(objects))
        created = params.get("created")
        if isinstance(created, dict):
            bounds = {"gte": int.__ge__, "gt": int.__gt__, "lte": int.__le__, "lt": int.__lt__}
            _reject_unknown(created, set(bounds), "created")
            for name, compare in bounds.items():
                if name in created:
                    bound = _integer(created[name], f"created[{name}]")
                    newest_first = [o for o in newest_first if compare(o["created"], bound)]
        elif created not in (None, ""):
            exact = _integer(created, "created")
            newest_first = [o for o in newest_first if o["created"] == exact]
        ids = [o["id"] for o in newest_first]
        if params.get("starting_after"):
            cursor = params["starting_after"]
            if cursor not in ids:
                raise _not_found("object", cursor, "starting_after")
            page = newest_first[ids.index(cursor) + 1 :]
            has_more = len(page) > limit
            page = page[:limit]
        elif params.get("ending_before"):
            cursor = params["ending_before"]
            if cursor not in ids:
                raise _not_found("object", cursor, "ending_before")
            before = newest_first[: ids.index(cursor)]
            has_more = len(before) > limit
            page = before[-limit:]
        else:
            has_more = len(newest_first) > limit
            page = newest_first[:limit]
        expand = [
            path.removeprefix("data.")
            for path in _as_list(params.get("expand"))
            if path.startswith("data.")
        ]
        return {
            "object": "list",
            "data": [self._expand(o, {"expand": expand}) for o in page],
            "has_more": has_more,
            "url": url,
        }

    def _expand(self, obj: dict, params: dict) -> dict:
        """A copy of the object with the ids named in `expand` replaced by their objects."""
        result = copy.deepcopy(obj)
        for path in _as_list(params.get("expand")):
            self._expand_path(result, path.split("."), path)
        return result

    def _expand_path(self, obj: dict, parts: list[str], whole: str) -> None:
        head, rest = parts[0], parts[1:]
        if head == "line_items" and obj.get("object") == "checkout.session":
            lines = list(reversed(self._checkout_extras[obj["id"]]["line_items"]))
            obj["line_items"] = self._list(
                lines, {"limit": "100"}, f"/v1/checkout/sessions/{obj['id']}/line_items"
            )
            return
        if head not in obj:
            raise StripeErrorResponse(
                400, f"This property cannot be expanded ({whole}).", param="expand"
            )
        value = obj[head]
        if isinstance(value, str) and value in self._objects:
            value = obj[head] = copy.deepcopy(self._objects[value])
        if rest and isinstance(value, dict):
            self._expand_path(value, rest, whole)

    # --- the hosted payment page -----------------------------------------------------------------

    def _pay_page(self, method: str, session_id: str, body: bytes) -> _Answer:
        """Stands in for Stripe's hosted Checkout page: GET shows it, POST action=pay completes
        the session (sending its events) and redirects to success_url; action=cancel redirects
        to cancel_url."""
        with self._lock:
            session = self._objects.get(session_id)
            if session is None or session["object"] != "checkout.session":
                return _Answer(404, b"No such Checkout Session", content_type="text/plain")
            session = copy.deepcopy(session)
        if session["status"] != "open":
            return _Answer(
                410, b"This Checkout Session is no longer active.", content_type="text/plain"
            )
        if method == "GET":
            page = (
                "<!doctype html><html><head><title>Fake Stripe Checkout</title></head><body>"
                "<h1>Fake Stripe Checkout (test mode)</h1>"
                f"<p id=amount>{session['amount_total']} {html.escape(session['currency'])}</p>"
                "<form method=post><button name=action value=pay>Pay</button>"
                "<button name=action value=cancel>Cancel</button></form></body></html>"
            )
            return _Answer(200, page.encode("utf-8"), content_type="text/html; charset=utf-8")
        if method != "POST":
            return _Answer(405, b"Method not allowed", content_type="text/plain")
        action = dict(parse_qsl(body.decode("utf-8"))).get("action")
        if action == "pay":
            try:
                self.complete(session_id)
            except ValueError:
                return _Answer(
                    410, b"This Checkout Session is no longer active.", content_type="text/plain"
                )
            target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        elif action == "cancel":
            target = session["cancel_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        else:
            return _Answer(400, b"action must be pay or cancel", content_type="text/plain")
        return _Answer(303, b"", [("Location", target)], content_type="text/plain")

    def _receipt_page(self, method: str, path: str) -> _Answer:
        """Stands in for Stripe's hosted receipt of a charge: what was paid, and what went back
        (Stripe keeps it up to date with each refund)."""
        if method != "GET":
            return _Answer(405, b"Method not allowed", content_type="text/plain")
        with self._lock:
            charge = next(
                (
                    copy.deepcopy(o)
                    for o in self._objects.values()
                    if o["object"] == "charge" and o.get("receipt_url", "").endswith(path)
                ),
                None,
            )
        if charge is None:
            return _Answer(404, b"No such receipt", content_type="text/plain")
        page = (
            "<!doctype html><html><head><title>Fake Stripe receipt</title></head><body>"
            "<h1>Receipt (test mode)</h1>"
            f"<p id=amount>{charge['amount']} {html.escape(charge['currency'])}</p>"
            f"<p id=refunded>{charge['amount_refunded']} refunded</p></body></html>"
        )
        return _Answer(200, page.encode("utf-8"), content_type="text/html; charset=utf-8")

    def _invoice_page(self, method: str, invoice_id: str) -> _Answer:
        """Stands in for Stripe's hosted invoice page: what is due, and whether it is paid."""
        if method != "GET":
            return _Answer(405, b"Method not allowed", content_type="text/plain")
        with self._lock:
            invoice = self._objects.get(invoice_id)
            invoice = copy.deepcopy(invoice) if invoice is not None else None
        if invoice is None or invoice["object"] != "invoice":
            return _Answer(404, b"No such invoice", content_type="text/plain")
        page = (
            "<!doctype html><html><head><title>Fake Stripe invoice</title></head><body>"
            "<h1>Invoice (test mode)</h1>"
            f"<p id=amount>{invoice['amount_due']} {html.escape(invoice['currency'])}</p>"
            f"<p id=status>{html.escape(invoice['status'])}</p></body></html>"
        )
        return _Answer(200, page.encode("utf-8"), content_type="text/html; charset=utf-8")

    def _after_response(self, events: list[dict]) -> None:
        try:
            self._dispatch(events)
        except Exception:
            self.internal_errors.append(traceback.format_exc())
        finally:
            self._done()


def _as_list(value: Any) -> list:
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [value]


def _integer(value: Any, param: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise StripeErrorResponse(
        400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
    )


def _hash(value: Any, param: str) -> dict:
    """A copy of a nested param, so that what was recorded stays as it was sent."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StripeErrorResponse(400, "Invalid hash", param=param)
    return copy.deepcopy(value)


def _metadata(value: Any, param: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StripeErrorResponse(400, "Invalid hash", param=param)
    if len(value) > 50:
        raise StripeErrorResponse(400, "Metadata can have at most 50 keys.", param=param)
    for key, item in value.items():
        if len(key) > 40:
            raise StripeErrorResponse(
                400, "Metadata keys can be at most 40 characters.", param=f"{param}[{key}]"
            )
        if not isinstance(item, str) or len(item) > 500:
            raise StripeErrorResponse(
                400,
                "Metadata values must be strings of at most 500 characters.",
                param=f"{param}[{key}]",
            )
    # An empty value unsets a key on Stripe.
    return {key: item for key, item in value.items() if item != ""}


def _reject_unknown(params: dict, allowed: set[str], prefix: str = "") -> None:
    for name in params:
        if name not in allowed:
            param = f"{prefix}[{name}]" if prefix else name
            raise StripeErrorResponse(
                400,
                f"Received unknown parameter: {param}",
                code="parameter_unknown",
                param=param,
            )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeStripe

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        # A client that gave up on a slow answer is the point of delay_next, not a fault.
        if isinstance(error, (ConnectionError, socket.timeout)):
            return
        self.fake.internal_errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so no idle keep-alive thread outlives a test.
    protocol_version = "HTTP/1.0"
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = Headers(list(self.headers.items()))
        try:
            answer = fake._handle_http(method, self.path, headers, body)
        except _Hangup:
            return
        except Exception:
            fake.internal_errors.append(traceback.format_exc())
            answer = fake._error_answer(
                StripeErrorResponse(
                    500, "The fake Stripe failed; see internal_errors.", type="api_error"
                )
            )
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
            self.wfile.flush()
        except (TimeoutError, ConnectionError):
            pass  # the client gave up; what Stripe did stands, and its events still go out
        finally:
            if answer.after:
                fake._after_response(answer.after)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the recorded requests say more, and pytest's output stays clean
