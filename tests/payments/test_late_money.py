"""No money is kept for a place that can no longer be given: cancelling closes the checkout at
Stripe first, a payment that won the race is refunded as the cancellation says, and money that
arrives anyway (after a cancellation or a released hold) goes back in full, with an e-mail in the
person's language. All through the real SDK and the fake Stripe server."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from community.core.db import db, utcnow
from community.core.errors import DomainError
from community.events import services
from community.events.models import Event, Registration
from community.payments import services as payments
from community.payments.models import Order, Payment, Refund, WebhookEvent
from tests.conftest import submit, text_of
from tests.payments.test_checkout import _after_the_hold, _status


def _order_of(registration) -> Order:
    db.session.rollback()
    return db.session.scalar(
        select(Order).where(Order.reference == str(registration.id)).order_by(Order.id.desc())
    )


def _refunds_of(order) -> list[Refund]:
    db.session.rollback()
    return list(db.session.scalars(select(Refund).where(Refund.order_id == order.id)))


def _manage_path(registration) -> str:
    return f"/registrations/{registration.id}/{services.manage_token(registration)}"


def _cancel_on_the_manage_page(client, registration):
    path = _manage_path(registration)
    return submit(client, path, {}, post_path=path + "/cancel")


def _paid_at_stripe_but_still_open_there(fake_stripe, session_id) -> None:
    """The buyer pays; Stripe's event is late, and Stripe itself still lets the session be
    expired (as in the instant between a payment and its record at Stripe)."""
    fake_stripe.hold_deliveries()
    fake_stripe.complete(session_id)
    fake_stripe.tamper(session_id, status="open", payment_status="unpaid")


def _expire_requests(fake_stripe, session_id):
    return fake_stripe.requests_to("POST", f"/v1/checkout/sessions/{session_id}/expire")


# --- cancelling closes the checkout first ---------------------------------------------------------


def test_a_person_cancelling_a_place_awaiting_payment_closes_its_checkout_at_stripe(
    client, awaiting_payment, register, fake_stripe
):
    event, registration, session_id = awaiting_payment()
    waiting = register(event, 2)
    response = _cancel_on_the_manage_page(client, registration)
    assert response.status_code == 302
    assert _expire_requests(fake_stripe, session_id)
    assert fake_stripe.get(session_id)["status"] == "expired"
    assert _status(registration) == "cancelled"
    assert _status(waiting) == "offered"
    [delivery] = fake_stripe.flush()  # Stripe's checkout.session.expired comes back
    assert delivery.status == 200
    order = _order_of(registration)
    assert (order.status, order.payments[0].status) == ("expired", "expired")
    assert _status(registration) == "cancelled"  # not "expired": the cancellation stands
    assert fake_stripe.requests_to("POST", "/v1/refunds") == []


def test_when_stripe_cannot_close_the_checkout_the_cancellation_changes_nothing(
    client, awaiting_payment, fake_stripe
):
    _, registration, session_id = awaiting_payment()
    # Each call is tried three times (the SDK's two retries), then given up.
    fake_stripe.fail_next("POST", f"/v1/checkout/sessions/{session_id}/expire", times=3)
    fake_stripe.fail_next("GET", f"/v1/checkout/sessions/{session_id}", times=3)
    response = _cancel_on_the_manage_page(client, registration)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nothing has changed" in page
    assert _status(registration) == "awaiting_payment"
    assert fake_stripe.get(session_id)["status"] == "open"
    # Once Stripe answers again, the cancellation goes through, checkout closed first.
    _cancel_on_the_manage_page(client, registration)
    assert fake_stripe.get(session_id)["status"] == "expired"
    assert _status(registration) == "cancelled"


def test_a_payment_made_before_the_person_cancelled_wins_and_is_refunded_by_the_policy(
    client, awaiting_payment, fake_stripe, mailbox
):
    event, registration, session_id = awaiting_payment()
    db.session.get(Event, event.id).refund_percent = 50
    db.session.commit()
    fake_stripe.hold_deliveries()
    fake_stripe.complete(session_id)  # paid; the webhook has not arrived yet
    _cancel_on_the_manage_page(client, registration)
    assert _status(registration) == "cancelled"
    order = _order_of(registration)
    assert order.status == "paid"  # the payment was recorded: it won
    [refund] = _refunds_of(order)
    assert refund.amount_minor == 1500
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "1500"
    late = fake_stripe.release()
    assert [d.status for d in late] == [200]
    assert len(_refunds_of(order)) == 1  # the late webhook refunds nothing more
    fake_stripe.flush()
    assert _order_of(registration).status == "partially_refunded"
    assert _status(registration) == "cancelled"


def test_money_arriving_after_the_person_cancelled_is_refunded_in_full_and_they_are_told(
    client, awaiting_payment, fake_stripe, mailbox
):
    _, registration, session_id = awaiting_payment(language="ja")
    _paid_at_stripe_but_still_open_there(fake_stripe, session_id)
    _cancel_on_the_manage_page(client, registration)
    assert _expire_requests(fake_stripe, session_id)
    assert _status(registration) == "cancelled"
    mailbox.clear()

    [completed] = fake_stripe.release(["checkout.session.completed"], keep_holding=False)
    assert completed.status == 200
    order = _order_of(registration)
    assert order.status == "paid"
    [refund] = _refunds_of(order)
    assert (refund.amount_minor, refund.status) == (3000, "pending")
    sent = fake_stripe.last_request("POST", "/v1/refunds")
    assert sent.params["amount"] == "3000"
    assert sent.idempotency_key == f"refund-{refund.id}"
    assert refund.refund_id == fake_stripe.objects("refund")[0]["id"]
    message = mailbox.last_to(registration.email)
    assert "返金" in message["Subject"]
    assert "¥3,000" in text_of(message) or "￥3,000" in text_of(message)

    # The same event again, even at the same moment twice, refunds nothing more.
    again = fake_stripe.deliver(completed, times=2, concurrently=True)
    assert [d.status for d in again] == [200, 200]
    assert len(fake_stripe.requests_to("POST", "/v1/refunds")) == 1
    for delivery in fake_stripe.flush():  # charge.refunded, checkout.session.expired
        assert delivery.status == 200
    order = _order_of(registration)
    assert (order.status, order.refunded_minor) == ("refunded", 3000)
    assert _refunds_of(order)[0].status == "succeeded"
    assert _status(registration) == "cancelled"


def test_an_organiser_cancelling_a_place_awaiting_payment_closes_its_checkout(
    client, awaiting_payment, fake_stripe, organiser, login
):
    event, registration, session_id = awaiting_payment()
    login(organiser)
    page = f"/organiser/events/{event.slug}/attendees"
    submit(client, page, {}, post_path=f"{page}/{registration.id}/cancel")
    assert fake_stripe.get(session_id)["status"] == "expired"
    assert _status(registration) == "cancelled"
    assert fake_stripe.requests_to("POST", "/v1/refunds") == []


def test_a_payment_that_won_over_an_organisers_cancel_is_refunded_in_full_and_told(
    client, awaiting_payment, fake_stripe, organiser, login, mailbox
):
    event, registration, session_id = awaiting_payment()
    fake_stripe.hold_deliveries()
    fake_stripe.complete(session_id)  # paid before the organiser pressed "cancel"
    login(organiser)
    page = f"/organiser/events/{event.slug}/attendees"
    submit(client, page, {}, post_path=f"{page}/{registration.id}/cancel")
    assert _status(registration) == "cancelled"
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "3000"
    [told] = mailbox.to(registration.email)[1:]  # after the "awaiting payment" one: one e-mail
    assert told["Subject"].startswith("Your registration is cancelled")
    assert "Your payment of ¥3,000 is being refunded in full" in text_of(told)
    fake_stripe.release()
    fake_stripe.flush()
    assert _order_of(registration).status == "refunded"
    assert len(fake_stripe.requests_to("POST", "/v1/refunds")) == 1


def test_cancelling_the_event_closes_open_checkouts_and_refunds_paid_tickets_in_full(
    client, awaiting_payment, register, fake_stripe, mailbox
):
    from tests.payments.test_checkout import _pay, _session_of

    event, paying, open_session = awaiting_payment(capacity=3)
    paid = register(event, 2)
    fake_stripe.complete(_session_of(_pay(client, paid)))
    waiting_list_event = db.session.get(Event, event.id)
    assert _status(paid) == "confirmed"
    mailbox.clear()

    told = services.cancel_event(waiting_list_event, "The venue flooded.")
    assert told == 2
    assert fake_stripe.get(open_session)["status"] == "expired"
    [refund_request] = fake_stripe.requests_to("POST", "/v1/refunds")
    assert refund_request.params["amount"] == "3000"
    text = text_of(mailbox.last_to(paid.email))
    assert "refunded in full" in text
    assert "refunded" not in text_of(mailbox.last_to(paying.email))
    for delivery in fake_stripe.flush():
        assert delivery.status == 200
    assert _order_of(paid).status == "refunded"
    # The records (and calendars) keep the place; nobody is promoted into a cancelled event.
    assert _status(paid) == "confirmed"
    with pytest.raises(DomainError):  # nothing more can be paid for it
        services.payment_page_for(db.session.get(Registration, paying.id))


def test_money_arriving_after_the_event_was_cancelled_is_refunded_in_full(
    client, awaiting_payment, fake_stripe, mailbox
):
    event, registration, session_id = awaiting_payment()
    _paid_at_stripe_but_still_open_there(fake_stripe, session_id)
    services.cancel_event(db.session.get(Event, event.id))
    mailbox.clear()
    [completed] = fake_stripe.release(["checkout.session.completed"])
    assert completed.status == 200
    [refund] = _refunds_of(_order_of(registration))
    assert refund.amount_minor == 3000 and refund.refund_id
    assert "after the event was cancelled" in text_of(mailbox.last_to(registration.email))


# --- holds ---------------------------------------------------------------------------------------


def test_money_arriving_after_the_hold_was_released_is_refunded_in_full_and_told(
    client, awaiting_payment, register, fake_stripe, mailbox
):
    event, registration, session_id = awaiting_payment()
    waiting = register(event, 2)
    _paid_at_stripe_but_still_open_there(fake_stripe, session_id)
    assert services.expire_holds_and_offers(_after_the_hold(registration)) == 1
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"
    mailbox.clear()

    [completed] = fake_stripe.release(["checkout.session.completed"])
    assert completed.status == 200
    order = _order_of(registration)
    assert order.status == "paid"  # recorded, though its checkout had been closed
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "3000"
    text = text_of(mailbox.last_to(registration.email))
    assert "released" in text and "waiting list" in text
    fake_stripe.release()
    for delivery in fake_stripe.flush():
        assert delivery.status == 200
    assert _order_of(registration).status == "refunded"
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"  # the place went on and stays given


def test_pay_now_after_the_hold_ran_out_says_so_and_points_to_registering_again(
    client, awaiting_payment, register, fake_stripe
):
    event, registration, session_id = awaiting_payment()
    waiting = register(event, 2)
    stored = db.session.get(Registration, registration.id)
    stored.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    path = _manage_path(registration)
    response = submit(client, path, {}, post_path=path + "/pay")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/events/{event.slug}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The time to pay for the place held for you has run out" in page
    assert "waiting list" in page
    assert "Please try again" not in page
    assert fake_stripe.get(session_id)["status"] == "expired"  # closed at Stripe first
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"
    # Pressing again (the job or the webhook released it already) says the same.
    again = submit(client, f"/events/{event.slug}", {}, post_path=path + "/pay")
    assert "has run out" in client.get(again.headers["Location"]).get_data(as_text=True)


# --- out-of-order deliveries ---------------------------------------------------------------------


def test_a_late_async_payment_failed_never_turns_a_payment_back_to_failed(
    client, awaiting_payment, fake_stripe
):
    _, registration, session_id = awaiting_payment()
    fake_stripe.hold_deliveries()
    fake_stripe.complete(session_id, async_=True)
    fake_stripe.async_result(session_id, succeeded=True)
    succeeded = fake_stripe.events_of("checkout.session.async_payment_succeeded")[-1]
    failed = copy.deepcopy(succeeded)
    failed["id"] = succeeded["id"] + "_failed"
    failed["type"] = "checkout.session.async_payment_failed"
    # Succeeded first, then the completion, then a stale failure.
    deliveries = fake_stripe.release([succeeded["id"], "checkout.session.completed"])
    deliveries += fake_stripe.deliver(failed)
    assert [d.status for d in deliveries] == [200, 200, 200]
    order = _order_of(registration)
    assert order.status == "paid"
    assert [p.status for p in order.payments] == ["paid"]
    assert _status(registration) == "confirmed"
    outcomes = dict(db.session.execute(select(WebhookEvent.type, WebhookEvent.outcome)).all())
    assert outcomes["checkout.session.async_payment_failed"] == "already paid"
    # The payment can still be refunded: its row still says paid, with its payment intent.
    payments.refund_order(order)
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "3000"


def test_a_late_expiry_never_turns_a_payment_back_to_expired(client, awaiting_payment, fake_stripe):
    _, registration, session_id = awaiting_payment()
    fake_stripe.hold_deliveries()
    fake_stripe.complete(session_id)
    completed = fake_stripe.events_of("checkout.session.completed")[-1]
    expired = copy.deepcopy(completed)
    expired["id"] += "_expired"
    expired["type"] = "checkout.session.expired"
    expired["data"]["object"]["status"] = "expired"
    fake_stripe.release()
    assert fake_stripe.deliver(expired)[0].status == 200
    order = _order_of(registration)
    assert (order.status, order.payments[0].status) == ("paid", "paid")
    assert _status(registration) == "confirmed"


# --- refunds: never twice, never negative --------------------------------------------------------


def _confirmed(client, awaiting_payment, fake_stripe):
    event, registration, session_id = awaiting_payment()
    fake_stripe.complete(session_id)
    assert _status(registration) == "confirmed"
    return event, registration, _order_of(registration)


def test_with_nothing_left_to_refund_the_refusal_says_so_and_never_shows_a_negative_amount(
    client, awaiting_payment, fake_stripe
):
    _, _, order = _confirmed(client, awaiting_payment, fake_stripe)
    payments.refund_order(order)  # everything, on its way
    assert payments.refundable_minor(_order_of_id(order.id)) == 0
    with pytest.raises(DomainError) as refused:
        payments.refund_order(_order_of_id(order.id), 1000)
    assert "already refunded in full" in str(refused.value)
    assert "-" not in str(refused.value)
    assert len(fake_stripe.requests_to("POST", "/v1/refunds")) == 1


def _order_of_id(order_id) -> Order:
    db.session.rollback()
    return db.session.get(Order, order_id)


def test_two_refunds_at_the_same_moment_never_give_back_more_than_was_paid(
    app, client, awaiting_payment, fake_stripe
):
    _, _, order = _confirmed(client, awaiting_payment, fake_stripe)
    order_id = order.id
    db.session.rollback()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def refund_two_thousand() -> None:
        with app.app_context():
            barrier.wait(timeout=5)
            try:
                payments.refund_order(db.session.get(Order, order_id), 2000)
                outcomes.append("refunded")
            except DomainError as error:
                outcomes.append(str(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=refund_two_thousand) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("refunded") == 1
    refused = next(outcome for outcome in outcomes if outcome != "refunded")
    assert "¥1,000" in refused and "-" not in refused
    assert sum(r.amount_minor for r in _refunds_of(order)) == 2000
    assert len(fake_stripe.requests_to("POST", "/v1/refunds")) == 1


def test_the_order_page_offers_no_refund_when_nothing_is_left(
    client, awaiting_payment, fake_stripe, make_user, login
):
    _, _, order = _confirmed(client, awaiting_payment, fake_stripe)
    login(make_user(role="admin"))
    page = f"/organiser/orders/{order.id}"
    assert f'action="{page}/refund"' in client.get(page).get_data(as_text=True)
    payments.refund_order(_order_of_id(order.id))
    html = client.get(page).get_data(as_text=True)
    assert f'action="{page}/refund"' not in html
    assert "refunded in full" in html
    assert "-¥" not in html and "-￥" not in html


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1" * 30, "larger than any payment"),
        ("123456789012", "larger than any payment"),
        ("5000", "at most ¥3,000"),
    ],
)
def test_an_over_long_or_too_large_refund_amount_is_refused_with_a_clear_message(
    client, awaiting_payment, fake_stripe, organiser, login, amount, message
):
    event, registration, order = _confirmed(client, awaiting_payment, fake_stripe)
    login(organiser)
    page = f"/organiser/events/{event.slug}/attendees"
    response = submit(
        client, page, {"amount": amount}, post_path=f"{page}/{registration.id}/refund"
    )
    assert response.status_code == 302
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert fake_stripe.requests_to("POST", "/v1/refunds") == []
    assert _order_of_id(order.id).status == "paid"


def test_an_admin_is_told_why_an_over_long_refund_amount_is_refused(
    client, awaiting_payment, fake_stripe, make_user, login
):
    _, _, order = _confirmed(client, awaiting_payment, fake_stripe)
    login(make_user(role="admin"))
    page = f"/organiser/orders/{order.id}"
    response = submit(client, page, {"amount": "9" * 30}, post_path=f"{page}/refund")
    assert "larger than any payment" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert fake_stripe.requests_to("POST", "/v1/refunds") == []


def test_a_refund_stripe_did_not_answer_is_asked_again_with_the_same_key_by_reconcile(
    client, awaiting_payment, fake_stripe, runner
):
    _, registration, session_id = awaiting_payment()
    _paid_at_stripe_but_still_open_there(fake_stripe, session_id)
    _cancel_on_the_manage_page(client, registration)
    fake_stripe.fail_next("POST", "/v1/refunds", status=500, times=3)  # and its two retries
    fake_stripe.release(["checkout.session.completed"])
    [refund] = _refunds_of(_order_of(registration))
    assert (refund.status, refund.refund_id) == ("pending", None)
    result = runner.invoke(args=["payments", "reconcile", "--since", "1d"])
    assert result.exit_code == 0, result.output
    assert f"refund-{refund.id}" in result.output
    keys = {r.idempotency_key for r in fake_stripe.requests_to("POST", "/v1/refunds")}
    assert keys == {f"refund-{refund.id}"}
    assert len(fake_stripe.objects("refund")) == 1
    [refund] = _refunds_of(_order_of(registration))
    assert refund.refund_id


def test_a_session_stripe_made_but_we_never_recorded_is_still_paid_and_refunded(
    client, awaiting_payment, fake_stripe
):
    _, registration, session_id = awaiting_payment()
    _paid_at_stripe_but_still_open_there(fake_stripe, session_id)
    _cancel_on_the_manage_page(client, registration)
    db.session.execute(Payment.__table__.delete())  # as if Stripe's answer had been lost
    db.session.commit()
    [completed] = fake_stripe.release(["checkout.session.completed"])
    assert completed.status == 200
    order = _order_of(registration)
    assert order.status == "paid"
    assert [p.session_id for p in order.payments] == [session_id]
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "3000"


def test_a_delayed_payment_still_processing_is_refunded_in_full_when_it_settles_after_a_cancel(
    client, awaiting_payment, fake_stripe, mailbox
):
    _, registration, session_id = awaiting_payment()
    fake_stripe.complete(session_id, async_=True)  # a bank transfer, say: not yet paid
    _cancel_on_the_manage_page(client, registration)
    assert _status(registration) == "cancelled"
    assert fake_stripe.requests_to("POST", "/v1/refunds") == []
    [settled] = fake_stripe.async_result(session_id, succeeded=True)
    assert settled.status == 200
    assert fake_stripe.last_request("POST", "/v1/refunds").params["amount"] == "3000"
    text = text_of(mailbox.last_to(registration.email))
    assert "after your registration was cancelled" in text
