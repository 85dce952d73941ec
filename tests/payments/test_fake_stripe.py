"""The fake Stripe behaves like Stripe as seen through the real `stripe` SDK: amounts, errors,
idempotency, refunds, faults, and webhook deliveries whose signatures the SDK itself accepts.

These tests check the test infrastructure, not the app; the app's payment tests rely on it.
"""

from __future__ import annotations

import http.client
import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import stripe
from flask import Flask, request

from tests.payments.fake_stripe import flask_client_sender, parse_stripe_form


def session_params(
    *,
    currency: str = "jpy",
    unit_amount: int = 5000,
    quantity: int = 1,
    mode: str = "payment",
    **overrides,
) -> dict:
    price_data = {
        "currency": currency,
        "unit_amount": unit_amount,
        "product_data": {"name": "Workshop ticket"},
    }
    if mode == "subscription":
        price_data["recurring"] = {"interval": "month"}
    params = {
        "mode": mode,
        "line_items": [{"price_data": price_data, "quantity": quantity}],
        "client_reference_id": "42",
        "metadata": {"order_id": 42, "purpose": "ticket"},
        "success_url": "https://community.example/orders/42/done?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://community.example/orders/42",
        "expires_at": int(time.time()) + 45 * 60,
        "customer_email": "ada@example.com",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


@pytest.fixture
def webhook_receiver(fake_stripe):
    """An HTTP endpoint on 127.0.0.1 that checks each delivery with the SDK's own
    `stripe.Webhook.construct_event`: 400 when it refuses, else `answer` (200 by default)."""

    class Receiver:
        def __init__(self) -> None:
            self.answer = 200
            self.events: list[stripe.Event] = []
            self.refused: list[str] = []

    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                event = stripe.Webhook.construct_event(
                    body, self.headers.get("Stripe-Signature"), fake_stripe.webhook_secret
                )
            except (stripe.SignatureVerificationError, ValueError) as error:
                receiver.refused.append(str(error))
                status = 400
            else:
                receiver.events.append(event)
                status = receiver.answer
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = _ReceiverServer(("127.0.0.1", 0), Handler)
    with server:
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        fake_stripe.webhook_url = f"http://127.0.0.1:{server.server_address[1]}/stripe/webhook"
        yield receiver
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def paid_session(fake_stripe, stripe_client, webhook_receiver):
    """A ¥5,000 session, completed and paid; its completion event already delivered."""
    session = stripe_client.v1.checkout.sessions.create(session_params())
    fake_stripe.complete(session.id)
    return stripe_client.v1.checkout.sessions.retrieve(session.id)


# --- Checkout Sessions ---------------------------------------------------------------------------


def test_a_yen_session_is_created_with_the_amount_in_yen_and_a_lowercase_currency(
    fake_stripe, stripe_client
):
    session = stripe_client.v1.checkout.sessions.create(session_params(currency="JPY"))

    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert (session.amount_total, session.currency) == (5000, "jpy")
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert session.url == f"{fake_stripe.url}/pay/{session.id}"
    assert session.client_reference_id == "42"
    assert session.metadata.to_dict() == {"order_id": "42", "purpose": "ticket"}
    assert session.payment_intent is None
    assert session.livemode is False


def test_a_dollar_session_amount_is_in_cents(stripe_client):
    session = stripe_client.v1.checkout.sessions.create(
        session_params(currency="usd", unit_amount=1250)
    )

    assert (session.amount_total, session.currency) == (1250, "usd")


def test_what_the_app_sent_is_recorded_with_its_headers(fake_stripe, stripe_client):
    stripe_client.v1.checkout.sessions.create(
        session_params(quantity=2), {"idempotency_key": "order-42-attempt-1"}
    )

    sent = fake_stripe.last_request("POST", "/v1/checkout/sessions")
    line = sent.params["line_items"][0]
    assert line["price_data"]["unit_amount"] == "5000"
    assert line["price_data"]["currency"] == "jpy"
    assert line["quantity"] == "2"
    assert sent.params["metadata"] == {"order_id": "42", "purpose": "ticket"}
    assert sent.idempotency_key == "order-42-attempt-1"
    assert sent.headers["Stripe-Version"] == stripe.api_version
    assert sent.headers["Authorization"] == "Bearer sk_test_fake"
    assert sent.status == 200


@pytest.mark.parametrize(
    ("currency", "unit_amount"), [("jpy", 49), ("usd", 49), ("jpy", 0), ("gbp", 29)]
)
def test_a_total_below_stripes_minimum_is_refused_as_amount_too_small(
    fake_stripe, stripe_client, currency, unit_amount
):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(
            session_params(currency=currency, unit_amount=unit_amount)
        )

    assert refused.value.code == "amount_too_small"
    assert refused.value.param == "line_items[0][price_data][unit_amount]"
    assert refused.value.http_status == 400
    assert fake_stripe.sessions() == []


@pytest.mark.parametrize(("currency", "unit_amount"), [("jpy", 50), ("usd", 50)])
def test_stripes_minimum_itself_is_accepted(stripe_client, currency, unit_amount):
    session = stripe_client.v1.checkout.sessions.create(
        session_params(currency=currency, unit_amount=unit_amount)
    )

    assert session.amount_total == unit_amount


@pytest.mark.parametrize(
    ("overrides", "param", "code"),
    [
        ({"expires_at": int(time.time()) + 10 * 60}, "expires_at", None),
        ({"expires_at": int(time.time()) + 25 * 3600}, "expires_at", None),
        ({"success_url": None}, "success_url", "parameter_missing"),
        ({"cancel_url": None}, "cancel_url", "parameter_missing"),
        ({"mode": None}, "mode", "parameter_missing"),
        ({"currency": "xyz"}, "line_items[0][price_data][currency]", None),
        ({"colour": "blue"}, "colour", "parameter_unknown"),
        ({"mode": "subscription", "line_items": None}, "line_items", "parameter_missing"),
    ],
)
def test_invalid_session_parameters_are_refused_like_stripe(
    fake_stripe, stripe_client, overrides, param, code
):
    currency = overrides.pop("currency", "jpy")
    params = session_params(currency=currency, **overrides)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(params)

    assert refused.value.param == param
    assert refused.value.code == code
    assert refused.value.error.type == "invalid_request_error"
    assert fake_stripe.sessions() == []


def test_a_recurring_price_needs_subscription_mode_and_subscription_mode_needs_one(
    stripe_client,
):
    one_time = session_params(mode="subscription")
    del one_time["line_items"][0]["price_data"]["recurring"]
    recurring = session_params()
    recurring["line_items"][0]["price_data"]["recurring"] = {"interval": "month"}

    for params in (one_time, recurring):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe_client.v1.checkout.sessions.create(params)
        assert refused.value.param == "line_items[0][price_data][recurring]"


def test_a_missing_or_live_api_key_is_refused(fake_stripe, make_stripe_client):
    with pytest.raises(stripe.AuthenticationError):
        make_stripe_client(api_key="sk_live_not_here").v1.checkout.sessions.list()

    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(fake_stripe.url).port, timeout=5)
    try:
        connection.request("GET", "/v1/checkout/sessions")
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert "API key" in body["error"]["message"]


def test_an_unknown_session_is_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nothing")

    assert refused.value.http_status == 404
    assert refused.value.code == "resource_missing"


def test_an_open_session_expires_once_and_its_event_waits_for_flush(
    fake_stripe, stripe_client, webhook_receiver
):
    session = stripe_client.v1.checkout.sessions.create(session_params())

    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(session.id)

    assert (expired.status, expired.url) == ("expired", None)
    assert [e["type"] for e in fake_stripe.pending] == ["checkout.session.expired"]
    assert webhook_receiver.events == []
    [delivery] = fake_stripe.flush()
    assert delivery.status == 200
    assert [e.type for e in webhook_receiver.events] == ["checkout.session.expired"]
    assert webhook_receiver.events[0].data.object.id == session.id
    assert webhook_receiver.events[0].request.idempotency_key is not None


def test_with_auto_deliver_an_api_caused_event_follows_the_response(
    fake_stripe, stripe_client, webhook_receiver
):
    fake_stripe.auto_deliver = True
    session = stripe_client.v1.checkout.sessions.create(session_params())

    stripe_client.v1.checkout.sessions.expire(session.id)

    assert fake_stripe.wait_idle(timeout=5)
    assert [e.type for e in webhook_receiver.events] == ["checkout.session.expired"]
    assert fake_stripe.pending == []


def test_sessions_are_listed_newest_first_filtered_by_created_and_paged(fake_stripe, stripe_client):
    now = int(time.time())
    old = stripe_client.v1.checkout.sessions.create(session_params(client_reference_id="1"))
    fake_stripe.tamper(old.id, created=now - 4 * 86400)
    recent = [
        stripe_client.v1.checkout.sessions.create(session_params(client_reference_id=str(n)))
        for n in (2, 3, 4)
    ]

    page = stripe_client.v1.checkout.sessions.list({"created": {"gte": now - 3600}, "limit": 2})
    assert page.object == "list"
    assert page.url == "/v1/checkout/sessions"
    assert [s.id for s in page.data] == [recent[2].id, recent[1].id]
    assert page.has_more is True
    everything = list(page.auto_paging_iter())
    assert [s.id for s in everything] == [s.id for s in reversed(recent)]
    after = stripe_client.v1.checkout.sessions.list({"starting_after": recent[1].id})
    assert [s.id for s in after.data] == [recent[0].id, old.id]
    assert after.has_more is False


def test_line_items_and_expanded_payment_intent_are_available(paid_session, stripe_client):
    session = stripe_client.v1.checkout.sessions.retrieve(
        paid_session.id, {"expand": ["payment_intent", "line_items"]}
    )

    assert session.payment_intent.amount_received == 5000
    assert session.line_items.data[0].price.unit_amount == 5000
    items = stripe_client.v1.checkout.sessions.line_items.list(paid_session.id)
    assert [(i.description, i.quantity, i.amount_total) for i in items.data] == [
        ("Workshop ticket", 1, 5000)
    ]


def test_a_reset_forgets_every_object(fake_stripe, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(session_params())

    fake_stripe.reset()

    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert fake_stripe.requests_to("POST") == []


# --- idempotency ---------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_params_return_the_same_session_without_another(
    fake_stripe, stripe_client
):
    params = session_params()
    first = stripe_client.v1.checkout.sessions.create(params, {"idempotency_key": "order-42"})
    again = stripe_client.v1.checkout.sessions.create(params, {"idempotency_key": "order-42"})

    assert again.id == first.id
    assert len(fake_stripe.sessions()) == 1
    assert again.last_response.headers["Idempotent-Replayed"] == "true"


def test_the_same_idempotency_key_with_other_params_is_an_idempotency_error(
    fake_stripe, stripe_client
):
    stripe_client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "order-42"})

    with pytest.raises(stripe.IdempotencyError) as refused:
        stripe_client.v1.checkout.sessions.create(
            session_params(unit_amount=6000), {"idempotency_key": "order-42"}
        )

    assert refused.value.http_status == 400
    assert refused.value.error.type == "idempotency_error"
    assert len(fake_stripe.sessions()) == 1


def test_a_refused_request_does_not_use_up_its_idempotency_key(fake_stripe, stripe_client):
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.create(
            session_params(unit_amount=10), {"idempotency_key": "order-42"}
        )

    session = stripe_client.v1.checkout.sessions.create(
        session_params(), {"idempotency_key": "order-42"}
    )

    assert session.amount_total == 5000


# --- faults --------------------------------------------------------------------------------------


def test_an_injected_500_is_an_api_error_and_creates_nothing(fake_stripe, stripe_client):
    fake_stripe.fail_next("POST", "/v1/checkout/sessions", status=500)

    with pytest.raises(stripe.APIError) as failed:
        stripe_client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "k"})
    session = stripe_client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "k"})

    assert failed.value.http_status == 500
    assert failed.value.error.type == "api_error"
    assert [s["id"] for s in fake_stripe.sessions()] == [session.id]
    assert [r.status for r in fake_stripe.requests_to("POST")] == [500, 200]


def test_the_sdks_own_retry_gets_through_an_injected_failure(fake_stripe, make_stripe_client):
    client = make_stripe_client(max_network_retries=1)
    fake_stripe.fail_next("GET", "/v1/checkout/sessions/*", status=503)
    session = client.v1.checkout.sessions.create(session_params())

    assert client.v1.checkout.sessions.retrieve(session.id).id == session.id
    assert [r.status for r in fake_stripe.requests_to("GET")] == [503, 200]


def test_a_hanging_request_times_out_the_client_but_stripe_still_creates_the_session(
    fake_stripe, make_stripe_client
):
    impatient = make_stripe_client(timeout=0.25)
    fake_stripe.delay_next("POST", "/v1/checkout/sessions", seconds=2)
    params = session_params()

    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.checkout.sessions.create(params, {"idempotency_key": "order-42"})
    with pytest.raises(stripe.APIError) as in_use:
        impatient.v1.checkout.sessions.create(params, {"idempotency_key": "order-42"})
    assert in_use.value.http_status == 409
    assert in_use.value.error.code == "idempotency_key_in_use"

    assert fake_stripe.wait_idle(timeout=5)
    retried = impatient.v1.checkout.sessions.create(params, {"idempotency_key": "order-42"})
    assert [s["id"] for s in fake_stripe.sessions()] == [retried.id]


def test_a_request_still_hanging_when_the_test_ends_is_cut_off_by_the_reset(
    fake_stripe, make_stripe_client
):
    fake_stripe.delay_next("POST", "/v1/checkout/sessions", seconds=30)
    with pytest.raises(stripe.APIConnectionError):
        make_stripe_client(timeout=0.2).v1.checkout.sessions.create(session_params())

    started = time.monotonic()
    fake_stripe.reset()

    assert fake_stripe.wait_idle(timeout=2)
    assert time.monotonic() - started < 2
    assert fake_stripe.sessions() == []


def test_two_clicks_at_once_with_one_idempotency_key_create_one_session(fake_stripe, stripe_client):
    params = session_params()
    outcomes: list = []

    def click() -> None:
        try:
            session = stripe_client.v1.checkout.sessions.create(
                params, {"idempotency_key": "order-42"}
            )
            outcomes.append(session.id)
        except stripe.APIError as error:  # 409: the key is in use by the other click
            outcomes.append(error.http_status)

    clicks = [threading.Thread(target=click) for _ in range(8)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(timeout=10)

    [session] = fake_stripe.sessions()
    assert len(outcomes) == 8
    assert set(outcomes) <= {session["id"], 409}
    assert session["id"] in outcomes


# --- payment intents and refunds -----------------------------------------------------------------


def test_a_paid_session_has_a_succeeded_payment_intent(paid_session, stripe_client):
    intent = stripe_client.v1.payment_intents.retrieve(paid_session.payment_intent)

    assert (paid_session.status, paid_session.payment_status) == ("complete", "paid")
    assert paid_session.customer_details.email == "ada@example.com"
    assert (intent.status, intent.amount, intent.amount_received) == ("succeeded", 5000, 5000)
    assert intent.currency == "jpy"


def test_refunds_partial_then_the_rest_then_nothing_more(
    fake_stripe, stripe_client, paid_session, webhook_receiver
):
    intent = paid_session.payment_intent
    partial = stripe_client.v1.refunds.create({"payment_intent": intent, "amount": 2000})
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.refunds.create({"payment_intent": intent, "amount": 3001})
    rest = stripe_client.v1.refunds.create({"payment_intent": intent})
    with pytest.raises(stripe.InvalidRequestError) as already:
        stripe_client.v1.refunds.create({"payment_intent": intent, "amount": 1})

    assert (partial.object, partial.amount, partial.status) == ("refund", 2000, "succeeded")
    assert (rest.amount, rest.currency) == (3000, "jpy")
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")
    assert already.value.code == "charge_already_refunded"
    assert stripe_client.v1.refunds.retrieve(partial.id).payment_intent == intent
    fake_stripe.flush()
    refunded = [e for e in webhook_receiver.events if e.type == "charge.refunded"]
    assert [(e.data.object.amount_refunded, e.data.object.refunded) for e in refunded] == [
        (2000, False),
        (5000, True),
    ]
    assert {e.data.object.payment_intent for e in refunded} == {intent}


def test_a_refund_with_an_idempotency_key_is_made_once(fake_stripe, stripe_client, paid_session):
    params = {"payment_intent": paid_session.payment_intent, "amount": 1000}

    first = stripe_client.v1.refunds.create(params, {"idempotency_key": "refund-7"})
    again = stripe_client.v1.refunds.create(params, {"idempotency_key": "refund-7"})

    assert again.id == first.id
    assert len(fake_stripe.objects("refund")) == 1
    assert len(fake_stripe.pending) == 1


def test_a_pending_refund_settles_later(fake_stripe, stripe_client, paid_session, webhook_receiver):
    fake_stripe.refund_status = "pending"
    refund = stripe_client.v1.refunds.create({"payment_intent": paid_session.payment_intent})
    assert refund.status == "pending"

    [delivery] = fake_stripe.settle_refund(refund.id, succeeded=False)

    assert delivery.status == 200
    assert delivery.type == "charge.refund.updated"
    assert stripe_client.v1.refunds.retrieve(refund.id).status == "failed"
    again = stripe_client.v1.refunds.create({"payment_intent": paid_session.payment_intent})
    assert again.amount == 5000


# --- webhook deliveries --------------------------------------------------------------------------


def test_a_completed_checkout_is_delivered_with_a_signature_the_sdk_accepts(
    fake_stripe, stripe_client, webhook_receiver
):
    session = stripe_client.v1.checkout.sessions.create(session_params())

    [delivery] = fake_stripe.complete(session.id)

    assert delivery.status == 200
    [event] = webhook_receiver.events
    assert event.id.startswith("evt_")
    assert (event.type, event.api_version) == ("checkout.session.completed", stripe.api_version)
    completed = event.data.object
    assert (completed.id, completed.status, completed.payment_status) == (
        session.id,
        "complete",
        "paid",
    )
    assert (completed.amount_total, completed.currency) == (5000, "jpy")
    assert completed.client_reference_id == "42"
    assert completed.metadata.order_id == "42"
    assert completed.payment_intent.startswith("pi_")
    signature = delivery.headers["Stripe-Signature"]
    assert stripe.Webhook.construct_event(delivery.body, signature, fake_stripe.webhook_secret)


def test_a_tampered_body_a_stale_timestamp_or_another_secret_is_refused_by_the_sdk(
    fake_stripe, stripe_client, webhook_receiver
):
    session = stripe_client.v1.checkout.sessions.create(session_params())
    [delivery] = fake_stripe.complete(session.id)
    tampered = delivery.body.replace(b'"amount_total": 5000', b'"amount_total": 50')

    assert fake_stripe.deliver_raw(tampered, delivery.headers).status == 400
    [stale] = fake_stripe.deliver(delivery, timestamp=int(time.time()) - 301)
    [foreign] = fake_stripe.deliver(delivery, secret="whsec_someone_else")
    [fresh_enough] = fake_stripe.deliver(delivery, timestamp=int(time.time()) - 200)

    assert (stale.status, foreign.status, fresh_enough.status) == (400, 400, 200)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            tampered, delivery.headers["Stripe-Signature"], fake_stripe.webhook_secret
        )
    assert len(webhook_receiver.refused) == 3


def test_the_receivers_answer_is_the_delivery_status(fake_stripe, stripe_client, webhook_receiver):
    session = stripe_client.v1.checkout.sessions.create(session_params())
    webhook_receiver.answer = 503

    [delivery] = fake_stripe.complete(session.id)

    assert (delivery.status, delivery.ok) == (503, False)


def test_a_delivery_with_nowhere_to_go_says_so(fake_stripe, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(session_params())

    [delivery] = fake_stripe.complete(session.id)

    assert delivery.status is None
    assert "webhook_url" in delivery.error
    assert [e["type"] for e in fake_stripe.events] == ["checkout.session.completed"]


def test_async_payment_events_can_be_delivered_out_of_order(
    fake_stripe, stripe_client, webhook_receiver
):
    session = stripe_client.v1.checkout.sessions.create(session_params())
    fake_stripe.hold_deliveries()

    [held] = fake_stripe.complete(session.id, async_=True)
    fake_stripe.async_result(session.id, succeeded=True)
    assert held.held and webhook_receiver.events == []
    assert fake_stripe.get(session.id)["payment_status"] == "paid"

    deliveries = fake_stripe.release(
        order=["checkout.session.async_payment_succeeded", "checkout.session.completed"]
    )

    assert [d.status for d in deliveries] == [200, 200]
    assert [(e.type, e.data.object.payment_status) for e in webhook_receiver.events] == [
        ("checkout.session.async_payment_succeeded", "paid"),
        ("checkout.session.completed", "unpaid"),
    ]
    assert fake_stripe.held == []


def test_a_failed_async_payment_leaves_the_session_unpaid(fake_stripe, stripe_client):
    session = stripe_client.v1.checkout.sessions.create(session_params())
    fake_stripe.complete(session.id, async_=True)

    [delivery] = fake_stripe.async_result(session.id, succeeded=False)

    assert delivery.type == "checkout.session.async_payment_failed"
    retrieved = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert retrieved.payment_status == "unpaid"
    intent = stripe_client.v1.payment_intents.retrieve(retrieved.payment_intent)
    assert (intent.status, intent.amount_received) == ("requires_payment_method", 0)


def test_held_events_not_released_stay_held_until_dropped(
    fake_stripe, stripe_client, webhook_receiver
):
    first = stripe_client.v1.checkout.sessions.create(session_params())
    second = stripe_client.v1.checkout.sessions.create(session_params())
    fake_stripe.hold_deliveries()
    fake_stripe.complete(first.id)
    [expiry] = fake_stripe.expire(second.id)

    fake_stripe.release(order=[expiry.event["id"]])

    assert [e.type for e in webhook_receiver.events] == ["checkout.session.expired"]
    assert [e["type"] for e in fake_stripe.held] == ["checkout.session.completed"]
    assert [e["type"] for e in fake_stripe.drop_held()] == ["checkout.session.completed"]
    assert fake_stripe.held == []


def test_an_event_can_be_delivered_twice_and_at_the_same_moment(
    fake_stripe, stripe_client, webhook_receiver
):
    session = stripe_client.v1.checkout.sessions.create(session_params())
    [first] = fake_stripe.complete(session.id)

    twice = fake_stripe.deliver(first.event["id"], times=2)
    at_once = fake_stripe.deliver(first, times=3, concurrently=True)

    assert [d.status for d in twice + at_once] == [200] * 5
    assert {e.id for e in webhook_receiver.events} == {first.event["id"]}
    assert len(webhook_receiver.events) == 6


def test_deliveries_reach_a_flask_test_client(fake_stripe, stripe_client):
    seen = []
    app = Flask(__name__)

    @app.post("/stripe/webhook")
    def webhook():
        try:
            event = stripe.Webhook.construct_event(
                request.get_data(), request.headers.get("Stripe-Signature"), "whsec_app"
            )
        except stripe.SignatureVerificationError:
            return "", 400
        seen.append(event.type)
        return "", 200

    fake_stripe.webhook_secret = "whsec_app"
    fake_stripe.webhook_sender = flask_client_sender(app.test_client())
    session = stripe_client.v1.checkout.sessions.create(session_params())

    [delivery] = fake_stripe.complete(session.id)
    [refused] = fake_stripe.deliver(delivery, secret="whsec_wrong")

    assert (delivery.status, refused.status) == (200, 400)
    assert seen == ["checkout.session.completed"]


def test_a_tampered_amount_is_what_stripe_reports_afterwards(
    fake_stripe, stripe_client, webhook_receiver
):
    session = stripe_client.v1.checkout.sessions.create(session_params())
    fake_stripe.tamper(session.id, amount_total=500, currency="usd")

    fake_stripe.complete(session.id)

    completed = webhook_receiver.events[0].data.object
    assert (completed.amount_total, completed.currency) == (500, "usd")
    intent = stripe_client.v1.payment_intents.retrieve(completed.payment_intent)
    assert (intent.amount_received, intent.currency) == (500, "usd")


def test_events_are_listed_by_type_and_created(fake_stripe, stripe_client):
    kept = stripe_client.v1.checkout.sessions.create(session_params())
    dropped = stripe_client.v1.checkout.sessions.create(session_params())
    fake_stripe.complete(kept.id)
    fake_stripe.expire(dropped.id)

    completed = stripe_client.v1.events.list({"type": "checkout.session.completed"})
    recent = stripe_client.v1.events.list({"created": {"gte": int(time.time()) - 60}})
    none_yet = stripe_client.v1.events.list({"created": {"gt": int(time.time()) + 60}})

    assert [e.data.object.id for e in completed.data] == [kept.id]
    assert [e.type for e in recent.data] == [
        "checkout.session.expired",
        "checkout.session.completed",
    ]
    assert none_yet.data == []
    event_id = completed.data[0].id
    assert stripe_client.v1.events.retrieve(event_id).type == "checkout.session.completed"


def test_the_hosted_page_pays_and_redirects_to_the_success_url(
    fake_stripe, stripe_client, webhook_receiver
):
    session = stripe_client.v1.checkout.sessions.create(session_params())
    page = urlsplit(session.url)
    connection = http.client.HTTPConnection("127.0.0.1", page.port, timeout=5)
    try:
        connection.request("GET", page.path)
        shown = connection.getresponse()
        html = shown.read().decode()
        connection.close()
        connection.request(
            "POST",
            page.path,
            body="action=pay",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        paid = connection.getresponse()
        paid.read()
    finally:
        connection.close()

    assert shown.status == 200 and "5000 jpy" in html
    assert paid.status == 303
    assert paid.getheader("Location") == (
        f"https://community.example/orders/42/done?session={session.id}"
    )
    assert [e.type for e in webhook_receiver.events] == ["checkout.session.completed"]


# --- subscriptions -------------------------------------------------------------------------------


def test_a_subscription_checkout_creates_an_active_subscription_and_a_paid_invoice(
    fake_stripe, stripe_client, webhook_receiver
):
    params = session_params(mode="subscription", unit_amount=1000)
    params["subscription_data"] = {"metadata": {"membership_id": "9"}}
    session = stripe_client.v1.checkout.sessions.create(params)

    deliveries = fake_stripe.complete(session.id)

    assert [d.type for d in deliveries] == ["checkout.session.completed", "invoice.paid"]
    completed = stripe_client.v1.checkout.sessions.retrieve(session.id)
    subscription = stripe_client.v1.subscriptions.retrieve(completed.subscription)
    assert (subscription.status, subscription.metadata.membership_id) == ("active", "9")
    assert subscription["items"].data[0].price.unit_amount == 1000
    invoice = webhook_receiver.events[1].data.object
    assert (invoice.amount_paid, invoice.currency, invoice.status) == (1000, "jpy", "paid")
    assert invoice.parent.subscription_details.subscription == subscription.id


def test_a_subscription_renews_falls_past_due_and_ends_with_its_events(
    fake_stripe, stripe_client, webhook_receiver
):
    session = stripe_client.v1.checkout.sessions.create(session_params(mode="subscription"))
    fake_stripe.complete(session.id)
    subscription_id = fake_stripe.get(session.id)["subscription"]

    renewed = fake_stripe.renew_subscription(subscription_id)
    unpaid = fake_stripe.renew_subscription(subscription_id, paid=False)
    ended = fake_stripe.cancel_subscription(subscription_id)

    assert [d.type for d in renewed] == ["invoice.paid"]
    assert [d.type for d in unpaid] == ["invoice.payment_failed", "customer.subscription.updated"]
    assert unpaid[1].event["data"]["previous_attributes"] == {"status": "active"}
    assert [d.type for d in ended] == ["customer.subscription.deleted"]
    assert stripe_client.v1.subscriptions.retrieve(subscription_id).status == "canceled"


# --- the form encoding ---------------------------------------------------------------------------


def test_stripes_nested_form_encoding_becomes_dicts_and_lists():
    pairs = [
        ("line_items[0][price_data][unit_amount]", "5000"),
        ("line_items[0][quantity]", "1"),
        ("line_items[1][quantity]", "2"),
        ("metadata[order_id]", "7"),
        ("metadata[2026]", "year"),
        ("expand[0]", "payment_intent"),
        ("types[]", "a"),
        ("types[]", "b"),
        ("mode", "payment"),
    ]

    assert parse_stripe_form(pairs) == {
        "line_items": [{"price_data": {"unit_amount": "5000"}, "quantity": "1"}, {"quantity": "2"}],
        "metadata": {"order_id": "7", "2026": "year"},
        "expand": ["payment_intent"],
        "types": ["a", "b"],
        "mode": "payment",
    }
