"""Refunds: asked of Stripe with our own idempotency key, recorded when Stripe confirms them;
a full refund cancels the ticket and frees its place."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.core.db import db
from community.core.errors import DomainError
from community.events.models import Registration
from community.payments import services as payments
from community.payments.models import Order, Refund
from tests.payments.test_checkout import _paid_event, _pay, _session_of, _status


@pytest.fixture
def paid(client, make_event, register, fake_stripe):
    from tests.payments.fake_stripe import flask_client_sender

    fake_stripe.webhook_sender = flask_client_sender(client)

    def make(capacity: int = 1):
        event = _paid_event(make_event, capacity=capacity)
        registration = register(event, 1)
        fake_stripe.complete(_session_of(_pay(client, registration)))
        assert _status(registration) == "confirmed"
        order = db.session.scalar(select(Order).where(Order.reference == str(registration.id)))
        return event, registration, order

    return make


def _order(order_id):
    db.session.rollback()
    return db.session.get(Order, order_id)


def test_a_full_refund_cancels_the_ticket_and_promotes_the_next(
    paid, register, fake_stripe, mailbox
):
    event, registration, order = paid()
    waiting = register(event, 2)
    refund = payments.refund_order(order)
    sent = fake_stripe.last_request("POST", "/v1/refunds")
    assert sent.params["amount"] == "3000"
    assert sent.idempotency_key == f"refund-{refund.id}"
    assert _order(order.id).status == "paid"  # recorded only when Stripe confirms
    [delivery] = fake_stripe.flush()
    assert delivery.status == 200
    assert _order(order.id).status == "refunded"
    assert _order(order.id).refunded_minor == 3000
    assert db.session.get(Refund, refund.id).status == "succeeded"
    assert _status(registration) == "cancelled"
    assert _status(waiting) == "offered"  # a paid ticket is offered to the next person


def test_a_partial_refund_keeps_the_ticket(paid, fake_stripe):
    _, registration, order = paid()
    payments.refund_order(order, 1000)
    fake_stripe.flush()
    stored = _order(order.id)
    assert (stored.status, stored.refunded_minor) == ("partially_refunded", 1000)
    assert _status(registration) == "confirmed"
    payments.refund_order(stored)  # the rest
    fake_stripe.flush()
    assert _order(order.id).status == "refunded"


def test_refunding_more_than_was_paid_is_refused_before_calling_stripe(paid, fake_stripe):
    _, _, order = paid()
    for amount in (0, -5, 3001):
        with pytest.raises(DomainError):
            payments.refund_order(order, amount)
    assert fake_stripe.requests_to("POST", "/v1/refunds") == []


def test_a_refund_made_in_stripes_dashboard_is_recorded_once(paid, fake_stripe):
    _, registration, order = paid()
    payment_intent = order.payments[0].payment_intent_id
    [delivery] = fake_stripe.refund_from_dashboard(payment_intent)
    assert delivery.status == 200
    assert fake_stripe.deliver(delivery.event)[0].status == 200  # the same event again
    stored = _order(order.id)
    assert (stored.status, stored.refunded_minor) == ("refunded", 3000)
    assert len(stored.refunds) == 1
    assert _status(registration) == "cancelled"


def test_an_unpaid_order_cannot_be_refunded(client, make_event, register):
    registration = register(_paid_event(make_event), 1)
    _pay(client, registration)
    order = db.session.scalar(select(Order).where(Order.reference == str(registration.id)))
    with pytest.raises(DomainError):
        payments.refund_order(order)
    assert db.session.get(Registration, registration.id).status == "awaiting_payment"


def test_an_organiser_refunds_part_of_a_ticket_from_the_attendee_list(
    client, paid, fake_stripe, organiser, login
):
    from tests.conftest import submit

    event, registration, order = paid()
    login(organiser)
    page = f"/organiser/events/{event.slug}/attendees"
    assert "Refund" in client.get(page).get_data(as_text=True)
    response = submit(
        client,
        page,
        {"amount": "1,000", "cancel": "y"},
        post_path=f"{page}/{registration.id}/refund",
    )
    assert response.status_code == 302
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "1000"
    fake_stripe.flush()
    assert _order(order.id).status == "partially_refunded"
    assert _status(registration) == "cancelled"  # the organiser chose to cancel too


def test_bad_refund_amounts_from_the_attendee_list_change_nothing(
    client, paid, fake_stripe, organiser, login
):
    from tests.conftest import submit

    event, registration, order = paid()
    login(organiser)
    page = f"/organiser/events/{event.slug}/attendees"
    for amount in ("abc", "99999", "-1", "1.5"):
        response = submit(
            client, page, {"amount": amount}, post_path=f"{page}/{registration.id}/refund"
        )
        assert response.status_code == 302
    assert fake_stripe.requests_to("POST", "/v1/refunds") == []
    assert _order(order.id).status == "paid"


def test_a_person_cancelling_before_the_deadline_is_refunded_in_full(client, paid, fake_stripe):
    from community.events import services
    from tests.conftest import submit

    _, registration, order = paid()
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    response = submit(client, path, {}, post_path=path + "/cancel")
    assert response.status_code == 302
    assert "refunded in full" in client.get(path).get_data(as_text=True)
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "3000"
    fake_stripe.flush()
    assert _order(order.id).status == "refunded"
    assert _status(registration) == "cancelled"


def test_an_admin_refunds_any_order_from_its_page_and_an_organiser_cannot(
    client, paid, fake_stripe, make_user, login, organiser
):
    from tests.conftest import submit

    _, registration, order = paid()
    page = f"/organiser/orders/{order.id}"
    login(organiser)
    token_page = client.get(page)
    assert token_page.status_code == 200
    assert f'action="{page}/refund"' not in token_page.get_data(as_text=True)
    from tests.conftest import csrf_token_from

    refused = client.post(
        f"{page}/refund", data={"csrf_token": csrf_token_from(token_page.get_data(as_text=True))}
    )
    assert refused.status_code == 403
    client.post(
        "/account/logout", data={"csrf_token": csrf_token_from(token_page.get_data(as_text=True))}
    )
    login(make_user(role="admin"))
    response = submit(client, page, {"amount": ""}, post_path=f"{page}/refund")
    assert response.status_code == 302
    fake_stripe.flush()
    assert _order(order.id).status == "refunded"
    assert _status(registration) == "cancelled"


@pytest.mark.parametrize(("share", "refunded"), [(50, "1500"), (0, None)])
def test_a_person_cancelling_gets_the_share_the_events_policy_says(
    client, paid, fake_stripe, share, refunded
):
    from community.events import services
    from community.events.models import Event
    from tests.conftest import submit

    event, registration, _ = paid()
    db.session.get(Event, event.id).refund_percent = share
    db.session.commit()
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    submit(client, path, {}, post_path=path + "/cancel")
    requests = fake_stripe.requests_to("POST", "/v1/refunds")
    if refunded is None:
        assert requests == []
    else:
        assert requests[-1].params["amount"] == refunded
    assert _status(registration) == "cancelled"


def test_a_person_cancelling_under_a_partial_refund_policy_is_told_the_share(
    client, paid, fake_stripe
):
    from community.events import services
    from tests.conftest import submit

    event, registration, _order = paid()
    event.refund_percent = 50
    db.session.commit()
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    submit(client, path, {}, post_path=path + "/cancel")
    page = client.get(path).get_data(as_text=True)
    assert "50% of your payment is being refunded" in page
    assert "refunded in full" not in page
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "1500"


def test_an_organiser_cancelling_a_paid_place_refunds_all_that_is_left(
    client, paid, fake_stripe, organiser, login, mailbox
):
    from tests.conftest import submit

    event, registration, order = paid()
    login(organiser)
    page = f"/organiser/events/{event.slug}/attendees"
    response = submit(client, page, {}, post_path=f"{page}/{registration.id}/cancel")
    assert response.status_code == 302
    assert _status(registration) == "cancelled"
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "3000"
    fake_stripe.flush()
    assert _order(order.id).status == "refunded"
    assert "3,000" in mailbox.last_to(registration.email).get_body(("plain",)).get_content()


def test_a_part_refund_that_cancels_the_place_gives_back_only_that_part(
    client, paid, fake_stripe, organiser, login
):
    from tests.conftest import submit

    event, registration, _order = paid()
    login(organiser)
    page = f"/organiser/events/{event.slug}/attendees"
    submit(
        client,
        page,
        {"amount": "1000", "cancel": "y"},
        post_path=f"{page}/{registration.id}/refund",
    )
    assert _status(registration) == "cancelled"
    assert [r.params["amount"] for r in fake_stripe.requests_to("POST", "/v1/refunds")] == ["1000"]
