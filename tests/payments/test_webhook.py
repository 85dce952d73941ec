"""The webhook: verified signatures, each event once, effects in the order that makes sense
whatever the order of delivery, and tickets fulfilled, released or left alone accordingly."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.core.db import db, utcnow
from community.events.models import Registration
from community.events.services import TicketTypeData
from community.payments import services as payments
from community.payments.models import Order, Payment, WebhookEvent

SECRET = "whsec_test_secret"


@pytest.fixture
def app(make_app):
    # No Stripe calls happen here; a key only selects the Stripe gateway (not the sandbox).
    app = make_app(STRIPE_WEBHOOK_SECRET=SECRET, STRIPE_SECRET_KEY="sk_test_webhook_only")
    with app.app_context():
        yield app


def sign(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    timestamp = at if at is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def event_body(kind: str, session: dict, event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{kind}_{session['id']}",
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "data": {"object": session},
        }
    ).encode()


def deliver(client, body: bytes, signature: str | None = None):
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = signature if signature is not None else sign(body)
    return client.post("/stripe/webhook", data=body, headers=headers)


@pytest.fixture
def paid_ticket(make_event, register):
    """A registration awaiting payment for a ¥3,000 ticket, its order and its open session."""

    def make(capacity: int = 1):
        event = make_event(
            capacity=capacity,
            tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)],
        )
        registration = register(event, 1)
        order = payments.open_order(
            purpose="ticket",
            reference=str(registration.id),
            amount_minor=3000,
            currency="JPY",
            email=registration.email,
            description=event.title_en,
            expires_at=registration.hold_expires_at,
        )
        payment = Payment(
            order_id=order.id,
            provider="stripe",
            session_id=f"cs_test_{order.id}",
            checkout_url="https://checkout.example/pay",
            amount_minor=3000,
            currency="JPY",
            status="open",
        )
        db.session.add(payment)
        db.session.commit()
        session = {
            "id": payment.session_id,
            "object": "checkout.session",
            "status": "complete",
            "payment_status": "paid",
            "amount_total": 3000,
            "currency": "jpy",
            "client_reference_id": str(order.id),
            "metadata": {"order_id": str(order.id)},
            "payment_intent": f"pi_{order.id}",
        }
        return event, registration, order, session

    return make


def _status(model, row_id):
    return db.session.get(model, row_id, populate_existing=True).status


def test_a_paid_checkout_confirms_the_ticket_and_e_mails_it(client, paid_ticket, mailbox):
    _, registration, order, session = paid_ticket()
    response = deliver(client, event_body("checkout.session.completed", session))
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "paid"
    assert _status(Order, order.id) == "paid"
    assert _status(Registration, registration.id) == "confirmed"
    assert mailbox.last_to(registration.email)["Subject"].startswith("You are registered")


@pytest.mark.parametrize(
    "signature",
    [None, "", "t=1,v1=deadbeef", "garbage"],
    ids=["missing", "empty", "wrong", "garbage"],
)
def test_bad_signatures_are_refused_with_nothing_changed(client, paid_ticket, signature):
    _, _registration, order, session = paid_ticket()
    body = event_body("checkout.session.completed", session)
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    response = client.post("/stripe/webhook", data=body, headers=headers)
    assert response.status_code == 400
    assert _status(Order, order.id) == "pending"
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_a_stale_or_tampered_delivery_is_refused(client, paid_ticket):
    _, _, order, session = paid_ticket()
    body = event_body("checkout.session.completed", session)
    stale = deliver(client, body, sign(body, at=int(time.time()) - 3600))
    tampered = deliver(client, body.replace(b"3000", b"30"), sign(body))
    other_secret = deliver(client, body, sign(body, secret="whsec_someone_else"))
    assert [r.status_code for r in (stale, tampered, other_secret)] == [400, 400, 400]
    assert _status(Order, order.id) == "pending"


def test_the_same_event_twice_has_one_effect(client, paid_ticket, mailbox):
    _, registration, _order, session = paid_ticket()
    body = event_body("checkout.session.completed", session)
    first, second = deliver(client, body), deliver(client, body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["outcome"] == "duplicate"
    assert len(mailbox.to(registration.email)) == 2  # awaiting payment, then confirmed once
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1


def test_async_success_before_completed_pays_once(client, paid_ticket, mailbox):
    _, registration, _order, session = paid_ticket()
    succeeded = deliver(client, event_body("checkout.session.async_payment_succeeded", session))
    completed = deliver(client, event_body("checkout.session.completed", session))
    assert succeeded.get_json()["outcome"] == "paid"
    assert completed.get_json()["outcome"] == "already paid"
    assert _status(Registration, registration.id) == "confirmed"
    confirmations = [m for m in mailbox.to(registration.email) if "registered" in m["Subject"]]
    assert len(confirmations) == 1


def test_a_completed_but_unpaid_session_waits_for_the_async_result(client, paid_ticket):
    _, _registration, order, session = paid_ticket()
    pending = deliver(
        client, event_body("checkout.session.completed", {**session, "payment_status": "unpaid"})
    )
    assert pending.get_json()["outcome"] == "awaiting asynchronous payment"
    assert _status(Order, order.id) == "pending"
    failed = deliver(client, event_body("checkout.session.async_payment_failed", session))
    assert failed.get_json()["outcome"] == "failed"
    assert _status(Order, order.id) == "failed"


def test_an_amount_or_currency_mismatch_is_not_paid(client, paid_ticket):
    _, registration, order, session = paid_ticket()
    cheap = deliver(
        client, event_body("checkout.session.completed", {**session, "amount_total": 50})
    )
    dollars = deliver(
        client,
        event_body("checkout.session.completed", {**session, "currency": "usd"}, "evt_usd"),
    )
    assert cheap.get_json()["outcome"] == dollars.get_json()["outcome"] == "amount mismatch"
    assert _status(Order, order.id) == "pending"
    assert _status(Registration, registration.id) == "awaiting_payment"


def test_an_expired_checkout_releases_the_place_and_promotes(
    client, paid_ticket, register, mailbox
):
    event, registration, order, session = paid_ticket(capacity=1)
    waiting = register(event, 2)
    response = deliver(
        client, event_body("checkout.session.expired", {**session, "status": "expired"})
    )
    assert response.get_json()["outcome"] == "expired"
    assert _status(Order, order.id) == "expired"
    assert _status(Registration, registration.id) == "expired"
    assert _status(Registration, waiting.id) == "offered"


def test_a_session_for_another_order_or_unknown_is_recorded_and_ignored(client, paid_ticket):
    _, _registration, order, session = paid_ticket()
    other = deliver(
        client,
        event_body("checkout.session.completed", {**session, "client_reference_id": "999"}),
    )
    unknown = deliver(
        client, event_body("checkout.session.completed", {**session, "id": "cs_nobody"})
    )
    assert other.status_code == unknown.status_code == 200
    assert other.get_json()["outcome"] == unknown.get_json()["outcome"] == "unknown order"
    assert _status(Order, order.id) == "pending"


def test_other_event_types_are_answered_200_and_ignored(client):
    body = json.dumps(
        {"id": "evt_other", "type": "customer.created", "created": 1, "data": {"object": {}}}
    ).encode()
    response = deliver(client, body)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "ignored"


def test_stripes_minimum_charge_is_refused_before_calling_stripe(app):
    from community.core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        payments.open_order(
            purpose="ticket",
            reference="1",
            amount_minor=49,
            currency="JPY",
            email="a@example.com",
            description="Too cheap",
            expires_at=utcnow() + timedelta(hours=1),
        )
    assert "¥50" in str(refused.value)


def test_a_second_order_for_the_same_thing_is_the_same_order(app):
    values = {
        "purpose": "ticket",
        "reference": "42",
        "amount_minor": 5000,
        "currency": "JPY",
        "email": "a@example.com",
        "description": "Twice",
    }
    assert payments.open_order(**values).id == payments.open_order(**values).id


def test_the_same_event_delivered_many_times_at_once_has_one_effect(app, paid_ticket, mailbox):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import IsolatedClient

    _, registration, order, session = paid_ticket()
    body = event_body("checkout.session.completed", session)
    app.test_client_class = IsolatedClient  # each request its own context and connection
    barrier = threading.Barrier(8)

    def one_delivery():
        client = app.test_client()
        signature = sign(body)
        barrier.wait(timeout=30)
        response = client.post(
            "/stripe/webhook", data=body, headers={"Stripe-Signature": signature}
        )
        return response.status_code, response.get_json()["outcome"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [
            future.result(timeout=60) for future in [pool.submit(one_delivery) for _ in range(8)]
        ]
    assert sorted(answers) == [(200, "duplicate")] * 7 + [(200, "paid")]
    db.session.rollback()
    assert _status(Order, order.id) == "paid"
    confirmations = [m for m in mailbox.to(registration.email) if "registered" in m["Subject"]]
    assert len(confirmations) == 1


@pytest.mark.parametrize(
    "kind",
    [
        "invoice.paid",
        "invoice.payment_failed",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ],
)
def test_subscription_events_are_recorded_for_the_membership_work(client, kind):
    body = json.dumps(
        {"id": f"evt_{kind}", "type": kind, "created": 1, "data": {"object": {"id": "x"}}}
    ).encode()
    response = deliver(client, body)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "recorded"
    assert db.session.scalar(select(WebhookEvent.type)) == kind


def test_a_busy_database_answers_503_with_nothing_done_so_that_stripe_retries(
    app, make_app, paid_ticket
):
    import sqlite3

    from tests.conftest import IsolatedClient

    # Only SQLite lets a second connection hold the write lock this simply; on PostgreSQL the
    # same path (OperationalError → Busy → 503) is taken on a lock or statement timeout.
    if app.config["TEST_BACKEND"] != "sqlite":
        pytest.skip("holds SQLite's write lock from outside; PostgreSQL waits for row locks")
    _, registration, order, session = paid_ticket()
    impatient = make_app(
        STRIPE_WEBHOOK_SECRET=SECRET,
        STRIPE_SECRET_KEY="sk_test_webhook_only",
        SQLITE_BUSY_TIMEOUT_MS=200,
    )
    impatient.test_client_class = IsolatedClient
    client = impatient.test_client()
    body = event_body("checkout.session.completed", session)
    blocker = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
        busy = client.post("/stripe/webhook", data=body, headers={"Stripe-Signature": sign(body)})
    finally:
        blocker.rollback()
        blocker.close()
    assert busy.status_code == 503
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert _status(Order, order.id) == "pending"
    retried = client.post("/stripe/webhook", data=body, headers={"Stripe-Signature": sign(body)})
    assert retried.status_code == 200
    assert retried.get_json()["outcome"] == "paid"
    assert _status(Registration, registration.id) == "confirmed"
