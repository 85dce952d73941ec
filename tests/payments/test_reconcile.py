"""Reconcile: what Stripe reported while our webhook was not listening is applied once."""

from __future__ import annotations

from sqlalchemy import select

from community.core.db import db
from community.payments.models import Order
from tests.payments.test_checkout import _paid_event, _pay, _session_of, _status


def test_reconcile_applies_a_missed_payment_once(client, runner, make_event, register, fake_stripe):
    registration = register(_paid_event(make_event), 1)
    session_id = _session_of(_pay(client, registration))
    fake_stripe.hold_deliveries()
    fake_stripe.complete(session_id)
    fake_stripe.drop_held()  # the webhook never arrives
    assert _status(registration) == "awaiting_payment"

    first = runner.invoke(args=["payments", "reconcile", "--since", "1d"])
    assert first.exit_code == 0, first.output
    assert "checkout.session.completed: paid" in first.output
    assert _status(registration) == "confirmed"
    second = runner.invoke(args=["payments", "reconcile"])
    assert "Reconciled: 0 change(s)." in second.output
    db.session.rollback()
    order = db.session.scalar(select(Order))
    assert order.status == "paid"


def test_reconcile_refuses_a_malformed_period(runner):
    result = runner.invoke(args=["payments", "reconcile", "--since", "yesterday"])
    assert result.exit_code != 0
    assert "3d or 12h" in result.output


def test_reconcile_also_reads_the_sessions_when_an_event_is_missing(
    client, runner, make_event, register, fake_stripe
):
    registration = register(_paid_event(make_event), 1)
    session_id = _session_of(_pay(client, registration))
    fake_stripe.hold_deliveries()
    fake_stripe.complete(session_id)
    fake_stripe.drop_held()
    with fake_stripe._lock:  # Stripe's list of events no longer has it (older than it keeps)
        fake_stripe._events.clear()
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert f"{session_id}  checkout.session: paid" in result.output
    assert _status(registration) == "confirmed"
