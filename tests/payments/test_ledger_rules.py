"""The ledger's invariants: statuses move only through the transition functions, and the
database refuses rows that break its rules (foreign keys, a checkout without its session, an
order settled twice, a subscription without a known interval)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from community.core.db import db, utcnow
from community.events.models import Registration
from community.events.services import TicketTypeData
from community.payments import services as payments
from community.payments.models import (
    IllegalTransition,
    Order,
    Payment,
    Refund,
    Subscription,
)


@pytest.fixture
def order(app):
    return payments.open_order(
        purpose="ledger-test",
        reference="r-1",
        amount_minor=3000,
        currency="JPY",
        email="buyer@example.com",
        description="A thing",
    )


def _payment(order, **changes) -> Payment:
    values = {
        "order_id": order.id,
        "provider": "stripe",
        "kind": "checkout",
        "session_id": f"cs_test_{order.id}",
        "amount_minor": order.amount_minor,
        "currency": order.currency,
        "status": "open",
    }
    values.update(changes)
    payment = Payment(**values)
    db.session.add(payment)
    db.session.flush()
    return payment


def _refused(statement_or_row) -> None:
    with pytest.raises(IntegrityError):
        if isinstance(statement_or_row, db.Model):
            db.session.add(statement_or_row)
            db.session.flush()
        else:
            db.session.execute(statement_or_row)
    db.session.rollback()


@pytest.mark.parametrize(
    ("start", "target"),
    [("paid", "open"), ("paid", "expired"), ("paid", "failed"), ("expired", "open")],
)
def test_a_payment_refuses_illegal_moves(order, start, target):
    payment = _payment(order, status=start)
    with pytest.raises(IllegalTransition):
        payment.transition(target, utcnow())
    assert payment.status == start


def test_a_payment_moves_open_to_paid_and_late_money_from_expired(order):
    payment = _payment(order)
    payment.transition("expired", utcnow())
    payment.transition("paid", utcnow())
    assert payment.status == "paid"


@pytest.mark.parametrize(
    ("start", "target"),
    [("succeeded", "pending"), ("succeeded", "failed"), ("failed", "succeeded")],
)
def test_a_refund_refuses_illegal_moves(order, start, target):
    refund = Refund(order_id=order.id, provider="stripe", amount_minor=100, status=start)
    db.session.add(refund)
    db.session.flush()
    with pytest.raises(IllegalTransition):
        refund.transition(target, utcnow())
    assert refund.status == start


def test_a_refund_succeeding_is_settled_then_and_a_conditional_move_skips_settled_ones(order):
    refund = Refund(order_id=order.id, provider="stripe", amount_minor=100, status="pending")
    db.session.add(refund)
    db.session.flush()
    moment = utcnow()
    refund.transition("succeeded", moment)
    assert refund.settled_at == moment
    db.session.flush()
    moved = db.session.execute(Refund.moved_to("failed").where(Refund.id == refund.id))
    assert moved.rowcount == 0  # a succeeded refund cannot become failed, even in bulk


def test_a_subscription_refuses_to_come_back_from_its_end(order):
    subscription = Subscription(
        order_id=order.id,
        provider="stripe",
        subscription_id="sub_1",
        billing_interval="month",
        status="active",
        cancel_at_period_end=False,
    )
    db.session.add(subscription)
    db.session.flush()
    subscription.transition("ended", utcnow())
    with pytest.raises(IllegalTransition):
        subscription.transition("active", utcnow())


def test_a_checkout_payment_needs_its_session_but_a_transfer_does_not(order):
    _refused(
        Payment(
            order_id=order.id,
            provider="stripe",
            kind="checkout",
            amount_minor=3000,
            currency="JPY",
            status="open",
        )
    )
    transfer = Payment(
        order_id=order.id,
        provider="bank_transfer",
        kind="bank_transfer",
        amount_minor=3000,
        currency="JPY",
        status="paid",
        received_on=utcnow().date(),
    )
    db.session.add(transfer)
    db.session.flush()
    assert transfer.session_id is None


def test_a_transfer_must_say_when_it_arrived_and_be_of_the_bank_transfer_provider(order):
    _refused(
        Payment(
            order_id=order.id,
            provider="bank_transfer",
            kind="bank_transfer",
            amount_minor=3000,
            currency="JPY",
            status="paid",
        )
    )
    _refused(
        Payment(
            order_id=order.id,
            provider="stripe",
            kind="bank_transfer",
            amount_minor=3000,
            currency="JPY",
            status="paid",
            received_on=utcnow().date(),
        )
    )


def test_an_order_is_settled_by_one_payment_only(order):
    _payment(order, status="paid")
    _refused(
        Payment(
            order_id=order.id,
            provider="bank_transfer",
            kind="bank_transfer",
            amount_minor=3000,
            currency="JPY",
            status="paid",
            received_on=utcnow().date(),
        )
    )


def test_a_subscription_order_has_an_interval_and_only_a_subscription_has_one(order):
    _refused(Order.__table__.update().where(Order.id == order.id).values(billing_interval="month"))
    _refused(
        Order.__table__.update()
        .where(Order.id == order.id)
        .values(mode="subscription", billing_interval=None)
    )
    _refused(
        Order.__table__.update()
        .where(Order.id == order.id)
        .values(mode="subscription", billing_interval="week")
    )


def test_the_registrations_order_is_a_foreign_key(app, make_event, register):
    event = make_event(tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)])
    registration = register(event, 1)
    _refused(
        Registration.__table__.update()
        .where(Registration.id == registration.id)
        .values(order_id=999_999)
    )
    order = payments.open_order(
        purpose="ticket",
        reference=str(registration.id),
        amount_minor=3000,
        currency="JPY",
        email=registration.email,
        description="Paid",
    )
    db.session.execute(
        Registration.__table__.update()
        .where(Registration.id == registration.id)
        .values(order_id=order.id)
    )
    db.session.commit()
    # An order removed leaves the registration without one, never pointing at nothing.
    db.session.execute(Order.__table__.delete().where(Order.id == order.id))
    db.session.commit()
    assert (
        db.session.scalar(select(Registration.order_id).where(Registration.id == registration.id))
        is None
    )


def test_a_payment_of_an_unknown_order_is_refused(app):
    _refused(
        insert(Payment).values(
            order_id=999_999,
            provider="stripe",
            kind="checkout",
            session_id="cs_test_none",
            amount_minor=1,
            currency="JPY",
            status="open",
            created_at=utcnow(),
            updated_at=utcnow(),
            transfer_reference="",
        )
    )


def test_every_provider_answers_the_one_interface_and_a_transfer_is_returned_by_hand(app):
    from community.payments.gateway import GatewayError, StripeGateway
    from community.payments.providers import BANK_TRANSFER, CardProvider, Provider
    from community.payments.sandbox import SandboxGateway

    for card in (StripeGateway("sk_test_interface", "whsec_x"), SandboxGateway("whsec_x")):
        assert isinstance(card, CardProvider)
        assert (card.records_by_hand, card.payment_kind) == (False, "checkout")
    assert isinstance(BANK_TRANSFER, Provider)
    assert not isinstance(BANK_TRANSFER, CardProvider)
    assert (BANK_TRANSFER.records_by_hand, BANK_TRANSFER.payment_kind) == (True, "bank_transfer")
    with pytest.raises(GatewayError, match="by hand"):
        BANK_TRANSFER.create_refund(payment_intent="", amount_minor=1, idempotency_key="k")


def test_money_reported_by_a_webhook_is_not_recorded_by_hand(order):
    from community.payments.sandbox import SandboxGateway

    with pytest.raises(ValueError, match="webhook"):
        payments.record_payment(
            order.id,
            SandboxGateway("whsec_x"),
            amount_minor=3000,
            currency="JPY",
            received_on=utcnow().date(),
            recorded_by_id=None,
        )
