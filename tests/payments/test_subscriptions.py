"""Subscriptions through the fake Stripe: the order's interval goes to Stripe, the checkout's
payment starts the subscription, and its later life (renewals, a failed charge, changes, its
end) reaches the purpose's handlers as renewed / past due / changed / ended, each once, whatever
the order or the number of the deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.core.db import db, utcnow
from community.payments import services as payments
from community.payments.fulfilment import Fulfilment, fulfilment_handler
from community.payments.models import Order, Payment, Subscription
from tests.payments.fake_stripe import flask_client_sender

PURPOSE = "membership-test"


@pytest.fixture
def told(app):
    """The test purpose's handlers, each noting what it was told (in order)."""
    calls: list[tuple[str, int, str]] = []

    def note(name):
        def callback(order, subscription):
            calls.append((name, order.id, subscription.status))

        return callback

    def paid(order):
        calls.append(("paid", order.id, order.status))
        return True, None

    fulfilment_handler.register(
        app,
        PURPOSE,
        Fulfilment(
            paid,
            lambda order: calls.append(("expired", order.id, order.status)),
            lambda order, amount, full: None,
            renewed=note("renewed"),
            past_due=note("past_due"),
            changed=note("changed"),
            ended=note("ended"),
        ),
    )
    return calls


@pytest.fixture
def subscribed(app, client, fake_stripe, told):
    """subscribed(interval="year", hold=False) → (order, stripe session id): a subscription
    order whose checkout is opened at the fake Stripe and completed (unless held)."""
    fake_stripe.webhook_sender = flask_client_sender(client)

    def make(interval: str = "year", *, hold: bool = False):
        order = payments.open_order(
            purpose=PURPOSE,
            reference="member-1",
            amount_minor=12_000,
            currency="JPY",
            email="member@example.com",
            description="Membership",
            mode="subscription",
            interval=interval,
            expires_at=utcnow() + timedelta(hours=1),
        )
        url = payments.start_checkout(
            order, success_url="http://localhost/ok", cancel_url="http://localhost/cancel"
        )
        session_id = url.rsplit("/", 1)[-1]
        if hold:
            fake_stripe.hold_deliveries()
        fake_stripe.complete(session_id)
        return order, session_id

    return make


def _subscription(order_id: int) -> Subscription:
    db.session.rollback()
    return db.session.scalar(select(Subscription).where(Subscription.order_id == order_id))


def test_the_orders_interval_goes_to_stripe_and_the_payment_starts_the_subscription(
    subscribed, fake_stripe, told
):
    order, session_id = subscribed("year")
    sent = fake_stripe.last_request("POST", "/v1/checkout/sessions")
    assert sent.params["mode"] == "subscription"
    assert sent.params["line_items"][0]["price_data"]["recurring"]["interval"] == "year"
    assert sent.params["subscription_data"]["metadata"]["order_id"] == str(order.id)
    subscription = _subscription(order.id)
    assert subscription.billing_interval == "year"
    assert subscription.status == "active"
    assert subscription.subscription_id == fake_stripe.get(session_id)["subscription"]
    assert db.session.get(Order, order.id).status == "paid"
    # The first invoice is what the checkout paid: told once, as paid, not as a renewal.
    assert told == [("paid", order.id, "paid")]


def test_renewals_failed_charges_changes_and_the_end_reach_the_handlers_once_each(
    subscribed, fake_stripe, told
):
    order, session_id = subscribed("month")
    stripe_id = fake_stripe.get(session_id)["subscription"]
    told.clear()

    fake_stripe.renew_subscription(stripe_id)
    assert told == [("renewed", order.id, "active")]
    renewal = db.session.scalar(select(Payment).where(Payment.kind == "renewal"))
    assert (renewal.order_id, renewal.amount_minor, renewal.status) == (order.id, 12_000, "paid")
    assert renewal.session_id is None and renewal.invoice_id.startswith("in_")
    assert _subscription(order.id).current_period_end > utcnow() + timedelta(days=27)

    # A charge that fails: invoice.payment_failed, then customer.subscription.updated (past_due).
    fake_stripe.renew_subscription(stripe_id, paid=False)
    assert told[1:] == [("past_due", order.id, "past_due")]
    assert _subscription(order.id).status == "past_due"

    fake_stripe.update_subscription(stripe_id, cancel_at_period_end=True)
    assert told[2:] == [("changed", order.id, "past_due")]
    assert _subscription(order.id).cancel_at_period_end is True

    fake_stripe.renew_subscription(stripe_id)  # paid again: back in good standing
    assert told[3:] == [("renewed", order.id, "active")]

    deliveries = fake_stripe.cancel_subscription(stripe_id)
    assert told[4:] == [("ended", order.id, "ended")]
    subscription = _subscription(order.id)
    assert subscription.status == "ended" and subscription.ended_at is not None

    # The same event again, or the end told twice, changes nothing.
    fake_stripe.deliver(deliveries[0])
    fake_stripe.update_subscription(stripe_id, metadata={"note": "after the end"})
    assert len(told) == 5
    assert db.session.get(Order, order.id).status == "paid"


def test_subscription_events_that_come_before_the_checkouts_apply_once_in_any_order(
    subscribed, fake_stripe, told
):
    order, session_id = subscribed("month", hold=True)
    stripe_id = fake_stripe.get(session_id)["subscription"]
    fake_stripe.renew_subscription(stripe_id)
    renewal_invoice = fake_stripe.events_of("invoice.paid")[-1]
    # The renewal's invoice first, the first invoice next, the checkout's completion last.
    fake_stripe.release([renewal_invoice, "invoice.paid", "checkout.session.completed"])
    # The renewal is in the ledger; the handler hears of the subscription once it is paid for,
    # and finds it as the renewal left it.
    assert told == [("paid", order.id, "paid")]
    renewals = db.session.scalars(select(Payment).where(Payment.kind == "renewal")).all()
    assert [(p.order_id, p.invoice_id) for p in renewals] == [
        (order.id, renewal_invoice["data"]["object"]["id"])
    ]
    assert _subscription(order.id).status == "active"
    assert db.session.get(Order, order.id).status == "paid"
    # Delivered again, none of them changes anything.
    fake_stripe.deliver(renewal_invoice)
    assert len(told) == 1
    assert db.session.scalar(select(func.count()).where(Payment.kind == "renewal")) == 1


def test_an_order_is_billed_monthly_or_yearly_only(app):
    with pytest.raises(Exception, match="monthly or yearly"):
        payments.open_order(
            purpose=PURPOSE,
            reference="member-2",
            amount_minor=1000,
            currency="JPY",
            email="member@example.com",
            description="Weekly",
            mode="subscription",
            interval="week",
        )
