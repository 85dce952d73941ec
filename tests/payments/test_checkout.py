"""Paid tickets end to end through the real Stripe SDK and the fake Stripe server: the checkout
sent to Stripe, a second click, payment, expiry, and Stripe failing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from community.core.db import db
from community.events import services
from community.events.models import Registration
from community.events.services import TicketTypeData
from community.payments.models import Order, Payment
from tests.conftest import submit
from tests.payments.fake_stripe import flask_client_sender


@pytest.fixture
def stripe_delivers_to(fake_stripe, client):
    fake_stripe.webhook_sender = flask_client_sender(client)
    return fake_stripe


def _paid_event(make_event, price=3000, currency="JPY", capacity=5):
    return make_event(
        capacity=capacity,
        tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=price, currency=currency)],
    )


def _pay(client, registration):
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    page = client.get(path).get_data(as_text=True)
    assert "Continue to payment" in page
    return submit(client, path, {}, post_path=path + "/pay")


def _status(registration) -> str:
    db.session.rollback()
    return db.session.get(Registration, registration.id).status


def test_paying_sends_the_server_computed_price_to_stripe_in_minor_units(
    client, make_event, register, fake_stripe
):
    event = _paid_event(make_event, price=5000)
    registration = register(event, 1)
    response = _pay(client, registration)
    assert response.status_code == 303
    session_id = re.search(r"/pay/(cs_[A-Za-z0-9_]+)", response.headers["Location"]).group(1)
    sent = fake_stripe.last_request("POST", "/v1/checkout/sessions")
    item = (
        sent.params["line_items"]["0"]
        if isinstance(sent.params["line_items"], dict)
        else (sent.params["line_items"][0])
    )
    assert item["price_data"]["unit_amount"] == "5000"
    assert item["price_data"]["currency"] == "jpy"
    order = db.session.scalar(select(Order))
    assert sent.params["client_reference_id"] == str(order.id)
    assert sent.params["metadata"]["order_id"] == str(order.id)
    assert sent.params["mode"] == "payment"
    assert sent.idempotency_key == f"order-{order.id}-checkout-1"
    assert db.session.scalar(select(Payment.session_id)) == session_id


def test_dollars_are_sent_in_cents(client, make_event, register, fake_stripe):
    event = _paid_event(make_event, price=1250, currency="USD")
    _pay(client, register(event, 1))
    sent = fake_stripe.last_request("POST", "/v1/checkout/sessions")
    item = (
        sent.params["line_items"]["0"]
        if isinstance(sent.params["line_items"], dict)
        else (sent.params["line_items"][0])
    )
    assert (item["price_data"]["unit_amount"], item["price_data"]["currency"]) == ("1250", "usd")


def test_a_second_click_reuses_the_same_checkout(client, make_event, register, fake_stripe):
    registration = register(_paid_event(make_event), 1)
    first, second = _pay(client, registration), _pay(client, registration)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_paying_at_stripe_confirms_the_ticket(
    client, make_event, register, stripe_delivers_to, mailbox
):
    registration = register(_paid_event(make_event), 1)
    location = _pay(client, registration).headers["Location"]
    session_id = re.search(r"/pay/(cs_[A-Za-z0-9_]+)", location).group(1)
    deliveries = stripe_delivers_to.complete(session_id)
    assert [delivery.status for delivery in deliveries] == [200]
    assert _status(registration) == "confirmed"
    assert mailbox.last_to(registration.email)["Subject"].startswith("You are registered")


def test_an_expired_checkout_releases_the_place_to_the_next_person(
    client, make_event, register, stripe_delivers_to
):
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    waiting = register(event, 2)
    location = _pay(client, registration).headers["Location"]
    session_id = re.search(r"/pay/(cs_[A-Za-z0-9_]+)", location).group(1)
    stripe_delivers_to.expire(session_id)
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"


def test_when_stripe_fails_the_person_is_told_and_the_place_is_released(
    client, make_event, register, fake_stripe
):
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    waiting = register(event, 2)
    fake_stripe.fail_next("POST", "/v1/checkout/sessions", status=500, times=5)
    response = _pay(client, registration)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The payment page could not be opened." in page
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"


def _session_of(response) -> str:
    return re.search(r"/pay/(cs_[A-Za-z0-9_]+)", response.headers["Location"]).group(1)


def _after_the_hold(registration):
    from datetime import timedelta

    db.session.rollback()
    hold = db.session.get(Registration, registration.id).hold_expires_at
    return hold + timedelta(seconds=1)


def test_an_expired_hold_closes_the_checkout_at_stripe_then_releases_the_place(
    client, make_event, register, fake_stripe
):
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    waiting = register(event, 2)
    session_id = _session_of(_pay(client, registration))
    released = services.expire_holds_and_offers(_after_the_hold(registration))
    assert released == 1
    assert fake_stripe.requests_to("POST", f"/v1/checkout/sessions/{session_id}/expire")
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"


def test_a_payment_made_at_the_last_moment_wins_over_the_hold_expiry(
    client, make_event, register, stripe_delivers_to, mailbox
):
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    waiting = register(event, 2)
    session_id = _session_of(_pay(client, registration))
    stripe_delivers_to.hold_deliveries()  # the webhook is late
    stripe_delivers_to.complete(session_id)
    assert services.expire_holds_and_offers(_after_the_hold(registration)) == 0
    assert _status(registration) == "confirmed"
    assert _status(waiting) == "waitlisted"
    [late] = stripe_delivers_to.release()
    assert late.status == 200
    confirmations = [m for m in mailbox.to(registration.email) if "registered" in m["Subject"]]
    assert len(confirmations) == 1


def test_when_stripe_cannot_be_asked_the_hold_waits_for_the_next_run(
    client, make_event, register, fake_stripe
):
    registration = register(_paid_event(make_event), 1)
    session_id = _session_of(_pay(client, registration))
    fake_stripe.fail_next("POST", f"/v1/checkout/sessions/{session_id}/expire", status=500, times=9)
    fake_stripe.fail_next("GET", f"/v1/checkout/sessions/{session_id}", status=500, times=9)
    assert services.expire_holds_and_offers(_after_the_hold(registration)) == 0
    assert _status(registration) == "awaiting_payment"


def test_coming_back_from_stripe_confirms_only_what_stripe_says_is_paid(
    client, make_event, register, fake_stripe
):
    registration = register(_paid_event(make_event), 1)
    response = _pay(client, registration)
    session_id = _session_of(response)
    manage = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    client.get(manage + "?paid=1")  # the browser says so; Stripe does not
    assert _status(registration) == "awaiting_payment"
    fake_stripe.hold_deliveries()
    fake_stripe.complete(session_id)  # paid, webhook not yet here
    page = client.get(manage + "?paid=1").get_data(as_text=True)
    assert _status(registration) == "confirmed"
    assert "Confirmed" in page


def test_the_confirmation_e_mail_carries_the_receipt(
    client, make_event, register, stripe_delivers_to, mailbox
):
    registration = register(_paid_event(make_event, price=5000), 1)
    stripe_delivers_to.complete(_session_of(_pay(client, registration)))
    text = mailbox.last_to(registration.email).get_body(("plain",)).get_content()
    assert "Paid: ¥5,000 (receipt for Paid)" in text


def test_when_stripe_does_not_answer_in_time_the_person_is_told(
    app, client, make_event, register, fake_stripe
):
    app.config.update(STRIPE_TIMEOUT_SECONDS=0.5, STRIPE_NETWORK_RETRIES=0)
    event = _paid_event(make_event, capacity=1)
    registration = register(event, 1)
    fake_stripe.delay_next("POST", "/v1/checkout/sessions", seconds=3)
    response = _pay(client, registration)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The payment page could not be opened." in page
    assert _status(registration) == "expired"


def test_subscriptions_can_be_checked_out_for_the_later_membership_work(app, fake_stripe):
    from datetime import timedelta

    from community.core.db import utcnow
    from community.payments import services as payments

    session = payments.gateway().create_checkout_session(
        mode="subscription",
        amount_minor=1000,
        currency="JPY",
        name="Monthly membership",
        email="member@example.com",
        order_id=1,
        purpose="membership",
        reference="1",
        expires_at=utcnow() + timedelta(hours=1),
        success_url="http://localhost/ok",
        cancel_url="http://localhost/cancel",
        idempotency_key="order-1-checkout-1",
    )
    sent = fake_stripe.last_request("POST", "/v1/checkout/sessions")
    assert sent.params["mode"] == "subscription"
    assert sent.params["line_items"][0]["price_data"]["recurring"]["interval"] == "month"
    assert session.url


def test_registering_for_a_paid_ticket_goes_straight_to_the_payment_page(
    client, make_event, fake_stripe
):
    event = _paid_event(make_event)
    response = submit(
        client,
        f"/events/{event.slug}",
        {"name": "Direct", "email": "direct@example.com", "ticket_type": "paid"},
        post_path=f"/events/{event.slug}/register",
    )
    assert response.status_code == 303
    assert "/pay/cs_" in response.headers["Location"]


def test_the_api_answers_a_paid_registration_with_its_checkout_url(client, make_event, fake_stripe):
    event = _paid_event(make_event)
    response = client.post(
        f"/api/v1/events/{event.slug}/registrations",
        json={"name": "Api Buyer", "email": "api@example.com"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "awaiting_payment"
    assert "/pay/cs_" in body["checkout_url"]


def test_the_api_answers_503_when_the_payment_page_cannot_be_made(client, make_event, fake_stripe):
    event = _paid_event(make_event)
    fake_stripe.fail_next("POST", "/v1/checkout/sessions", status=500, times=5)
    response = client.post(
        f"/api/v1/events/{event.slug}/registrations",
        json={"name": "Api Buyer", "email": "api@example.com"},
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "payment_unavailable"
    db.session.rollback()
    assert db.session.scalar(select(Registration.status)) == "expired"
