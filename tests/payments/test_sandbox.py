"""The offline payment sandbox: a test checkout page whose buttons send our real webhook view the
signed events Stripe would send, so the ledger and the tickets end as they would with Stripe; and
it can never be switched on in production."""

from __future__ import annotations

import inspect
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from community import create_app
from community.config import ConfigurationError
from community.core.db import db, utcnow
from community.events import services
from community.payments import services as payments
from community.payments.gateway import GatewayError, StripeGateway
from community.payments.models import Order, Payment, WebhookEvent
from community.payments.sandbox import SANDBOX_WEBHOOK_SECRET, SandboxGateway, sign
from tests.conftest import csrf_token_from, submit
from tests.payments.test_checkout import _after_the_hold, _paid_event, _status


@pytest.fixture
def app(make_app, request):
    """The test app in sandbox mode (no Stripe key); a test may pass overrides as its param."""
    app = make_app(**getattr(request, "param", {}))
    with app.app_context():
        yield app


def _to_sandbox(client, registration) -> str:
    """Press "Pay now" on the manage page; returns the sandbox page's address it leads to."""
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    response = submit(client, path, {}, post_path=path + "/pay")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert urlsplit(location).path.startswith("/payments/sandbox/checkout/cs_sandbox_")
    return location


def _press(client, checkout_url: str, outcome: str):
    parts = urlsplit(checkout_url)
    page = f"{parts.path}?{parts.query}"
    return submit(client, page, {"outcome": outcome}, post_path=parts.path)


def _manage_url(registration) -> str:
    token = services.manage_token(registration)
    return f"http://localhost/registrations/{registration.id}/{token}"


def _events() -> list[tuple[str, str, str]]:
    db.session.rollback()
    rows = db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))
    return [(row.provider, row.type, row.outcome) for row in rows]


def _order_of(registration) -> Order:
    db.session.rollback()
    return db.session.scalar(select(Order).where(Order.reference == str(registration.id)))


def test_the_sandbox_is_the_gateway_when_no_stripe_key_is_set(app):
    assert app.config["PAYMENTS_SANDBOX"] is True
    assert payments.gateway().provider == "sandbox"


def test_the_sandbox_gateway_has_the_stripe_gateways_interface():
    public = [name for name in vars(StripeGateway) if not name.startswith("_")]
    assert {"create_checkout_session", "create_refund", "verify_event"} <= set(public)
    for name in public:
        stripe_member, sandbox_member = getattr(StripeGateway, name), getattr(SandboxGateway, name)
        if callable(stripe_member):
            assert inspect.signature(sandbox_member).parameters.keys() == (
                inspect.signature(stripe_member).parameters.keys()
            ), name


def test_paying_in_the_sandbox_confirms_the_ticket_through_the_signed_webhook(
    client, make_event, register, mailbox
):
    registration = register(_paid_event(make_event, price=5000), 1)
    checkout_url = _to_sandbox(client, registration)
    response = _press(client, checkout_url, "pay")
    assert response.status_code == 303
    assert response.headers["Location"] == _manage_url(registration) + "?paid=1"
    assert _status(registration) == "confirmed"
    order = _order_of(registration)
    assert order.status == "paid"
    [payment] = order.payments
    assert (payment.provider, payment.status) == ("sandbox", "paid")
    assert payment.payment_intent_id.startswith("pi_sandbox_")
    assert _events() == [("sandbox", "checkout.session.completed", "paid")]
    assert mailbox.last_to(registration.email)["Subject"].startswith("You are registered")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Confirmed" in page


def test_the_event_sent_is_shaped_and_signed_as_stripe_would(client, make_event, register):
    registration = register(_paid_event(make_event, price=1250, currency="USD"), 1)
    _press(client, _to_sandbox(client, registration), "pay")
    [recorded] = db.session.scalars(select(WebhookEvent))
    session = recorded.payload["object"]
    order = _order_of(registration)
    assert recorded.event_id.startswith("evt_sandbox_")
    assert session["object"] == "checkout.session"
    assert (session["status"], session["payment_status"]) == ("complete", "paid")
    assert (session["amount_total"], session["currency"]) == (1250, "usd")
    assert session["client_reference_id"] == str(order.id)
    assert session["metadata"] == {
        "order_id": str(order.id),
        "purpose": "ticket",
        "reference": str(registration.id),
    }
    assert session["payment_intent"] == order.payments[0].payment_intent_id


def test_a_failed_sandbox_payment_keeps_the_place_held_to_try_again_until_the_hold_ends(
    client, make_event, register, mailbox
):
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    waiting = register(event, 2)
    first_checkout = _to_sandbox(client, registration)
    response = _press(client, first_checkout, "fail")
    assert response.status_code == 303
    assert response.headers["Location"] == _manage_url(registration)
    assert _events() == [
        ("sandbox", "checkout.session.completed", "awaiting asynchronous payment"),
        ("sandbox", "checkout.session.async_payment_failed", "failed"),
    ]
    order = _order_of(registration)
    assert (order.status, order.payments[0].status) == ("failed", "failed")
    assert _status(registration) == "awaiting_payment"
    assert _status(waiting) == "waitlisted"
    assert mailbox.last_to(registration.email)["Subject"].startswith(
        "Your payment did not go through"
    )
    # Trying again is a new checkout, which can be paid.
    assert _to_sandbox(client, registration) != first_checkout
    services.expire_holds_and_offers(_after_the_hold(registration))
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"
    assert mailbox.last_to(waiting.email)["Subject"].startswith("A place came free for you")


def test_abandoning_sends_nothing_and_the_expiry_then_releases_the_place(
    client, make_event, register, mailbox
):
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    waiting = register(event, 2)
    checkout_url = _to_sandbox(client, registration)
    response = _press(client, checkout_url, "abandon")
    assert response.headers["Location"] == _manage_url(registration)
    assert _events() == []
    assert _status(registration) == "awaiting_payment"
    assert _order_of(registration).payments[0].status == "open"
    # Going back to pay later: the same open session.
    assert _to_sandbox(client, registration) == checkout_url

    services.expire_holds_and_offers(_after_the_hold(registration))
    # The ledger closes the order before asking Stripe, so the event it sends back finds the
    # order already expired; the job then releases the place itself.
    assert _events() == [("sandbox", "checkout.session.expired", "already expired")]
    order = _order_of(registration)
    assert (order.status, order.payments[0].status) == ("expired", "expired")
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"
    assert mailbox.last_to(registration.email)["Subject"].startswith("Your place was released")
    page = client.get(checkout_url).get_data(as_text=True)
    assert "This test checkout has expired." in page
    assert 'value="pay"' not in page


def test_a_second_click_on_pay_now_reuses_the_sandbox_session(client, make_event, register):
    registration = register(_paid_event(make_event), 1)
    assert _to_sandbox(client, registration) == _to_sandbox(client, registration)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_the_sandbox_page_shows_what_is_bought_and_says_it_is_a_test(client, make_event, register):
    registration = register(_paid_event(make_event, price=5000), 1)
    checkout_url = _to_sandbox(client, registration)
    response = client.get(checkout_url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "TEST PAYMENT" in page
    assert "No real money moves." in page
    # The reader's language first (then the other one's, once translated).
    assert re.search(r'<p lang="en">\s*<strong[^>]*>TEST PAYMENT', page)
    in_japanese = client.get(checkout_url, headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert re.search(r'<p lang="ja">\s*<strong', in_japanese)
    assert registration.event.title_en in page
    assert "¥5,000" in page
    assert registration.email in page
    for outcome in ("pay", "fail", "abandon"):
        assert f'name="outcome" value="{outcome}"' in page
    # Works without JavaScript, within the Content Security Policy.
    assert "<script" not in page
    assert "style=" not in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_the_sandbox_buttons_need_a_csrf_token(client, make_event, register):
    registration = register(_paid_event(make_event), 1)
    path = urlsplit(_to_sandbox(client, registration)).path
    for outcome in ("pay", "fail", "abandon"):
        assert client.post(path, data={"outcome": outcome}).status_code == 400
    assert _events() == []
    assert _status(registration) == "awaiting_payment"


def test_an_unknown_sandbox_session_is_not_found(client):
    path = "/payments/sandbox/checkout/cs_sandbox_unknown"
    assert client.get(path).status_code == 404
    token = csrf_token_from(client.get("/events").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, "outcome": "pay"})
    assert response.status_code == 404


def test_a_paid_sandbox_checkout_shows_its_state_and_cannot_be_paid_twice(
    client, make_event, register, mailbox
):
    registration = register(_paid_event(make_event), 1)
    checkout_url = _to_sandbox(client, registration)
    _press(client, checkout_url, "pay")
    page = client.get(checkout_url).get_data(as_text=True)
    assert "This test payment is complete." in page
    assert 'value="pay"' not in page
    token = csrf_token_from(page)
    again = client.post(urlsplit(checkout_url).path, data={"csrf_token": token, "outcome": "pay"})
    assert again.status_code == 302
    assert "already finished" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(_events()) == 1
    confirmations = [m for m in mailbox.to(registration.email) if "registered" in m["Subject"]]
    assert len(confirmations) == 1


def test_a_sandbox_checkout_past_its_time_cannot_be_paid(client, make_event, register):
    registration = register(_paid_event(make_event), 1)
    checkout_url = _to_sandbox(client, registration)
    payment = db.session.scalar(select(Payment))
    payment.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = client.get(checkout_url).get_data(as_text=True)
    assert "This test checkout has expired." in page
    token = csrf_token_from(page)
    client.post(urlsplit(checkout_url).path, data={"csrf_token": token, "outcome": "pay"})
    assert _events() == []
    assert _status(registration) == "awaiting_payment"


def test_the_webhook_accepts_the_sandbox_secret_and_refuses_another(client):
    body = json.dumps(
        {"id": "evt_sandbox_x", "object": "event", "type": "ping", "data": {"object": {}}}
    ).encode()
    headers = {"Content-Type": "application/json"}
    wrong = client.post(
        "/stripe/webhook", data=body, headers={**headers, "Stripe-Signature": sign(body, "whsec_x")}
    )
    assert wrong.status_code == 400
    assert _events() == []
    right = client.post(
        "/stripe/webhook",
        data=body,
        headers={**headers, "Stripe-Signature": sign(body, SANDBOX_WEBHOOK_SECRET)},
    )
    assert right.status_code == 200
    assert _events() == [("sandbox", "ping", "ignored")]


@pytest.mark.parametrize(
    "app", [{"STRIPE_WEBHOOK_SECRET": "whsec_configured_for_this_run"}], indirect=True
)
def test_a_configured_webhook_secret_signs_the_sandboxs_events(client, make_event, register):
    registration = register(_paid_event(make_event), 1)
    _press(client, _to_sandbox(client, registration), "pay")
    assert _status(registration) == "confirmed"
    body = b'{"id": "evt_sandbox_y", "object": "event", "type": "ping", "data": {"object": {}}}'
    refused = client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": sign(body, SANDBOX_WEBHOOK_SECRET)},
    )
    assert refused.status_code == 400


def test_a_refund_in_the_sandbox_is_confirmed_by_charge_refunded(
    client, make_event, register, mailbox
):
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    waiting = register(event, 2)
    _press(client, _to_sandbox(client, registration), "pay")
    order = _order_of(registration)
    payments.refund_order(order, 1000)
    assert _order_of(registration).status == "partially_refunded"
    assert _status(registration) == "confirmed"
    payments.refund_order(_order_of(registration))
    order = _order_of(registration)
    assert (order.status, order.refunded_minor) == ("refunded", 3000)
    assert [(r.status, r.refund_id[:11]) for r in order.refunds] == [
        ("succeeded", "re_sandbox_"),
        ("succeeded", "re_sandbox_"),
    ]
    assert [kind for _, kind, _ in _events()][-2:] == ["charge.refunded", "charge.refunded"]
    assert _status(registration) == "cancelled"
    assert _status(waiting) == "offered"


def test_sandbox_sessions_are_idempotent_and_keep_stripes_limits(app):
    gateway = payments.gateway()
    values = {
        "mode": "payment",
        "amount_minor": 3000,
        "currency": "JPY",
        "name": "Workshop",
        "email": "a@example.com",
        "order_id": 7,
        "purpose": "ticket",
        "reference": "1",
        "expires_at": utcnow() + timedelta(hours=1),
        "success_url": "http://localhost/done",
        "cancel_url": "http://localhost/back",
    }
    first = gateway.create_checkout_session(**values, idempotency_key="order-7-checkout-1")
    again = gateway.create_checkout_session(**values, idempotency_key="order-7-checkout-1")
    other = gateway.create_checkout_session(**values, idempotency_key="order-7-checkout-2")
    assert first.id == again.id != other.id
    assert first.id.startswith("cs_sandbox_")
    assert first.url.startswith(f"http://localhost/payments/sandbox/checkout/{first.id}")
    assert (first.status, first.amount_total, first.currency) == ("open", 3000, "JPY")
    too_soon = {**values, "expires_at": utcnow() + timedelta(minutes=10)}
    with pytest.raises(GatewayError):
        gateway.create_checkout_session(**too_soon, idempotency_key="order-7-checkout-3")
    with pytest.raises(GatewayError):
        gateway.retrieve_session("cs_sandbox_unknown")


def test_production_refuses_to_start_without_a_stripe_key_which_would_enable_the_sandbox(
    tmp_path,
):
    production = {
        "COMMUNITY_ENV": "production",
        "SECRET_KEY": "a-production-secret-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://community@db.invalid/community",
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "whsec_production",
        "MAIL_OUTBOX_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigurationError, match="offline payment sandbox"):
        create_app(production)


def test_with_a_stripe_key_the_sandbox_page_does_not_exist(make_app):
    app = make_app(STRIPE_SECRET_KEY="sk_test_not_the_sandbox", STRIPE_WEBHOOK_SECRET="whsec_x")
    assert app.config["PAYMENTS_SANDBOX"] is False
    assert "payments_sandbox" not in app.blueprints
    assert app.test_client().get("/payments/sandbox/checkout/x").status_code == 404
    with app.app_context():
        assert payments.gateway().provider == "stripe"
        db.session.remove()


def test_registration_of_the_sandbox_page_follows_the_sandbox_setting(app):
    assert "payments_sandbox" in app.blueprints
    assert SandboxGateway().webhook_secret == SANDBOX_WEBHOOK_SECRET


def test_cancelling_a_place_awaiting_payment_closes_its_sandbox_checkout_first(
    client, make_event, register, mailbox
):
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    waiting = register(event, 2)
    checkout_url = _to_sandbox(client, registration)
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    response = submit(client, path, {}, post_path=path + "/cancel")
    assert "Your registration is cancelled." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    # The sandbox delivers its expiry at once; it finds the order already closed, and the
    # cancellation (not a released hold) is what the person sees and is told.
    assert _events() == [("sandbox", "checkout.session.expired", "already expired")]
    order = _order_of(registration)
    assert (order.status, order.payments[0].status) == ("expired", "expired")
    assert _status(registration) == "cancelled"
    assert _status(waiting) == "offered"
    assert mailbox.last_to(registration.email)["Subject"].startswith("Your registration is")
    assert 'value="pay"' not in client.get(checkout_url).get_data(as_text=True)
