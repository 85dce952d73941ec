"""Stripe's receipts, asked for by the worker: a paid webhook's request never waits for Stripe
to give one (it may be slow, or down), the worker's receipts job stores it moments later, and a
Stripe that does not answer is asked again after a growing pause, one question at a time."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from community.core.db import db, utcnow
from community.events.services import TicketTypeData
from community.payments import services as payments
from community.payments.models import Payment
from tests.payments.fake_stripe import flask_client_sender
from tests.payments.test_checkout import _pay, _session_of

INTENTS = "/v1/payment_intents/*"


def _payments() -> list[Payment]:
    db.session.rollback()
    return list(db.session.scalars(select(Payment).order_by(Payment.id)))


def test_the_webhook_leaves_the_receipt_to_the_worker_which_stores_it(
    app, awaiting_payment, fake_stripe, runner
):
    app.config["MAIL_DELIVERY"] = "worker"  # as in production
    _, _, session_id = awaiting_payment()
    [delivery] = fake_stripe.complete(session_id)
    assert delivery.status == 200
    assert fake_stripe.requests_to("GET", INTENTS) == []  # the request asked Stripe nothing
    [payment] = _payments()
    assert payment.status == "paid" and payment.receipt_url is None
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    [payment] = _payments()
    assert payment.receipt_url.startswith(fake_stripe.url + "/receipts/payment/")
    assert payment.receipt_questions == 1
    assert len(fake_stripe.requests_to("GET", INTENTS)) == 1
    assert payments.ask_for_missing_receipts() == 0  # kept: never asked again
    assert len(fake_stripe.requests_to("GET", INTENTS)) == 1


def test_a_stripe_that_does_not_answer_ends_the_round_and_is_asked_again_later(
    app, client, make_event, register, fake_stripe
):
    app.config["MAIL_DELIVERY"] = "worker"
    fake_stripe.webhook_sender = flask_client_sender(client)
    for number in (1, 2):
        event = make_event(
            capacity=1, tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)]
        )
        registration = register(event, number, language="en")
        fake_stripe.complete(_session_of(_pay(client, registration)))
    first, second = _payments()
    assert first.status == second.status == "paid"
    # Every try of the first question fails (the gateway's own retries included).
    fake_stripe.fail_next("GET", INTENTS, status=500, times=3)
    moment = utcnow()
    with time_machine.travel(moment, tick=False):
        assert payments.ask_for_missing_receipts() == 0
    asked = {request.path for request in fake_stripe.requests_to("GET", INTENTS)}
    assert asked == {f"/v1/payment_intents/{first.payment_intent_id}"}  # then it stopped
    first, second = _payments()
    assert (first.receipt_questions, first.receipt_next_ask_at) == (
        1,
        moment + timedelta(minutes=1),
    )
    assert (second.receipt_questions, second.receipt_next_ask_at) == (0, None)
    with time_machine.travel(moment + timedelta(seconds=10), tick=False):
        assert payments.ask_for_missing_receipts() == 1  # the second; the first waits its pause
    first, second = _payments()
    assert first.receipt_url is None and second.receipt_url is not None
    with time_machine.travel(moment + timedelta(minutes=1, seconds=1), tick=False):
        assert payments.ask_for_missing_receipts() == 1
    assert all(payment.receipt_url for payment in _payments())
    assert [payments.receipt_pause(n).total_seconds() for n in (1, 2, 3, 12)] == [
        60,
        120,
        240,
        6 * 3600,
    ]
