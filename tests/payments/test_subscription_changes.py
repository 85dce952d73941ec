"""A purpose changes the subscription it started (a monthly donor's new amount, a pause, an
end now) through payments: Stripe is asked first, its answer is recorded and told to the
purpose's handler once, and Stripe's own event about the same change later finds nothing new.
Refused, nothing changes: not at Stripe, not in the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.core.db import db
from community.core.errors import Busy, DomainError
from community.payments import services as payments
from community.payments.models import Payment, Subscription
from tests.payments import test_subscriptions

# The subscription tests' fixtures: a test purpose whose handlers note what they are told.
told = test_subscriptions.told
subscribed = test_subscriptions.subscribed


def _row(order_id: int) -> Subscription:
    db.session.rollback()
    return db.session.scalar(select(Subscription).where(Subscription.order_id == order_id))


def _renewals(order_id: int) -> list[int]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Payment.amount_minor)
            .where(Payment.order_id == order_id, Payment.kind == "renewal")
            .order_by(Payment.id)
        )
    )


@pytest.fixture
def monthly(subscribed, fake_stripe, told):
    order, session_id = subscribed("month")
    told.clear()
    return order, fake_stripe.get(session_id)["subscription"]


def test_a_new_amount_is_charged_from_the_next_invoice_and_told_once(monthly, fake_stripe, told):
    order, stripe_id = monthly
    row = payments.change_subscription_amount(order.id, 3000)
    assert row.amount_minor == 3000 and row.charge_minor == 3000
    sent = fake_stripe.last_request("POST", f"/v1/subscriptions/{stripe_id}")
    assert sent.params["proration_behavior"] == "none"
    assert sent.params["items"][0]["price_data"]["unit_amount"] == "3000"
    assert told == [("changed", order.id, "active")]
    # Stripe's own event about it arrived meanwhile: nothing more to tell.
    assert fake_stripe.events_of("customer.subscription.updated")
    fake_stripe.renew_subscription(stripe_id)
    assert _renewals(order.id) == [3000]
    assert told[1:] == [("renewed", order.id, "active")]
    # Back to the order's own amount: recorded as no change of amount at all.
    payments.change_subscription_amount(order.id, order.amount_minor)
    assert _row(order.id).amount_minor is None


def test_an_amount_below_the_smallest_charge_is_refused_before_stripe_is_asked(
    monthly, fake_stripe, told
):
    order, stripe_id = monthly
    asked = len(fake_stripe.requests_to("POST", f"/v1/subscriptions/{stripe_id}"))
    with pytest.raises(DomainError) as refused:
        payments.change_subscription_amount(order.id, 49)
    assert refused.value.field == "amount"
    assert len(fake_stripe.requests_to("POST", f"/v1/subscriptions/{stripe_id}")) == asked
    assert _row(order.id).amount_minor is None and told == []


def test_a_paused_subscription_charges_nothing_until_it_is_resumed(monthly, fake_stripe, told):
    order, stripe_id = monthly
    assert payments.pause_subscription(order.id, paused=True).paused is True
    assert fake_stripe.get(stripe_id)["pause_collection"] == {
        "behavior": "void",
        "resumes_at": None,
    }
    fake_stripe.renew_subscription(stripe_id)
    assert fake_stripe.events_of("invoice.voided")
    assert _renewals(order.id) == []
    assert payments.pause_subscription(order.id, paused=False).paused is False
    fake_stripe.renew_subscription(stripe_id)
    assert _renewals(order.id) == [order.amount_minor]
    assert told == [
        ("changed", order.id, "active"),
        ("changed", order.id, "active"),
        ("renewed", order.id, "active"),
    ]


def test_cancelling_now_ends_it_once_and_stripes_deleted_event_changes_nothing(
    monthly, fake_stripe, told
):
    order, stripe_id = monthly
    row = payments.cancel_subscription(order.id)
    assert row.status == "ended" and row.ended_at is not None
    assert fake_stripe.get(stripe_id)["status"] == "canceled"
    assert fake_stripe.events_of("customer.subscription.deleted")
    assert told == [("ended", order.id, "ended")]
    with pytest.raises(DomainError):
        payments.cancel_subscription(order.id)
    with pytest.raises(DomainError):
        payments.pause_subscription(order.id, paused=True)
    assert len(told) == 1


def test_stripe_unreachable_changes_nothing_and_says_so(monthly, fake_stripe, told):
    order, stripe_id = monthly
    fake_stripe.fail_next("DELETE", f"/v1/subscriptions/{stripe_id}", times=5)
    with pytest.raises(Busy):
        payments.cancel_subscription(order.id)
    fake_stripe.fail_next("POST", f"/v1/subscriptions/{stripe_id}", times=5)
    with pytest.raises(Busy):
        payments.pause_subscription(order.id, paused=True)
    row = _row(order.id)
    assert (row.status, row.paused) == ("active", False)
    assert fake_stripe.get(stripe_id)["status"] == "active"
    assert told == []


def test_a_pause_or_an_amount_set_in_stripes_dashboard_reaches_the_purpose(
    monthly, fake_stripe, told
):
    order, stripe_id = monthly
    fake_stripe.update_subscription(stripe_id, pause_collection={"behavior": "void"})
    assert _row(order.id).paused is True
    assert told == [("changed", order.id, "active")]
    subscription = fake_stripe.get(stripe_id)
    items = subscription["items"]
    items["data"][0]["price"]["unit_amount"] = 7000
    fake_stripe.update_subscription(stripe_id, items=items, pause_collection=None)
    row = _row(order.id)
    assert (row.paused, row.amount_minor) == (False, 7000)
    assert told[1:] == [("changed", order.id, "active")]


def test_a_late_event_is_read_as_the_subscription_is_now(monthly, fake_stripe, told):
    """An event about a pause that was undone since, arriving after the resumption, is applied
    as Stripe has the subscription now (not paused): nothing changes, nothing is told."""
    order, stripe_id = monthly
    payments.pause_subscription(order.id, paused=True)
    payments.pause_subscription(order.id, paused=False)
    told.clear()
    for event in fake_stripe.take_pending():
        [delivery] = fake_stripe.deliver(event)
        assert delivery.ok
    assert _row(order.id).paused is False
    assert told == []
    assert fake_stripe.requests_to("GET", f"/v1/subscriptions/{stripe_id}")


def test_an_event_is_applied_as_it_says_when_stripe_cannot_be_asked_for_now(
    monthly, fake_stripe, told
):
    order, stripe_id = monthly
    fake_stripe.fail_next("GET", f"/v1/subscriptions/{stripe_id}", times=5)
    fake_stripe.update_subscription(stripe_id, pause_collection={"behavior": "void"})
    assert _row(order.id).paused is True
    assert told == [("changed", order.id, "active")]


def test_the_fake_stripe_refuses_an_unknown_item_and_a_pause_it_does_not_know(
    monthly, stripe_client
):
    import stripe

    _, stripe_id = monthly
    with pytest.raises(stripe.InvalidRequestError, match="No such subscription_item"):
        stripe_client.v1.subscriptions.update(
            stripe_id,
            {"items": [{"id": "si_nope", "price_data": {"currency": "jpy", "unit_amount": 100}}]},
        )
    with pytest.raises(stripe.InvalidRequestError, match="behavior"):
        stripe_client.v1.subscriptions.update(
            stripe_id, {"pause_collection": {"behavior": "forever"}}
        )


def test_the_sandbox_answers_each_change_as_stripe_would(app):
    from community.payments.sandbox import SandboxGateway

    with pytest.raises(Exception, match="No such subscription"):
        SandboxGateway().set_paused("sub_sandbox_missing", paused=True)
