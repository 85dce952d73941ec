"""Money is always explained: cancelling an event refunds its paid tickets as the organiser
chooses, each person's e-mail says what becomes of their money; a failed payment is shown as
failed, with a way to try again while the place is held; the manage page shows what was paid,
its refunds and its receipt, and its button says that the next step is paying. Through the real
Stripe SDK and the fake Stripe server (whose fixtures this module borrows from the payments
tests: the tests' parameters of the same names are those fixtures, not redefinitions)."""

# ruff: noqa: F811

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from community.core.db import db, utcnow
from community.events import services
from community.events.models import Event, Registration
from community.events.services import TicketTypeData
from community.payments import services as payments
from community.payments.models import Order, Payment
from tests.conftest import submit, text_of
from tests.payments.conftest import (  # noqa: F401 - fixtures, used by name
    app,
    awaiting_payment,
    fake_stripe,
    fake_stripe_server,
)
from tests.payments.test_checkout import _after_the_hold, _pay, _session_of


@pytest.fixture
def delivered(client, fake_stripe):
    from tests.payments.fake_stripe import flask_client_sender

    fake_stripe.webhook_sender = flask_client_sender(client)
    return fake_stripe


def _status(registration) -> str:
    db.session.rollback()
    return db.session.get(Registration, registration.id).status


def _manage(registration) -> str:
    return f"/registrations/{registration.id}/{services.manage_token(registration)}"


def _orders(registration) -> list[Order]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Order).where(Order.reference == str(registration.id)).order_by(Order.id)
        )
    )


@pytest.fixture
def cancellable(client, make_event, register, delivered, mailbox):
    """An event with two paid tickets (one reader of each language), one place awaiting payment
    and one person waiting; the mailbox emptied."""
    event = make_event(
        capacity=3,
        tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)],
    )
    paid_en = register(event, 1)
    paid_ja = register(event, 2, language="ja")
    for registration in (paid_en, paid_ja):
        delivered.complete(_session_of(_pay(client, registration)))
    paying = register(event, 3)
    _pay(client, paying)
    waiting = register(event, 4)
    assert [_status(r) for r in (paid_en, paid_ja, paying, waiting)] == [
        "confirmed",
        "confirmed",
        "awaiting_payment",
        "waitlisted",
    ]
    mailbox.clear()
    return event, paid_en, paid_ja, paying, waiting


def _cancel_page(event) -> str:
    return f"/organiser/events/{event.slug}/cancel"


def _cancel(client, event, **data):
    return submit(client, _cancel_page(event), {"message": "The venue flooded.", **data})


# --- the cancel page ------------------------------------------------------------------------------


def test_the_cancel_page_offers_a_choice_for_the_money_with_the_paid_tickets_and_totals(
    client, cancellable, organiser, login
):
    event = cancellable[0]
    db.session.get(Event, event.id).refund_percent = 50
    db.session.commit()
    login(organiser)
    page = client.get(_cancel_page(event)).get_data(as_text=True)
    assert "<legend>Money paid for tickets</legend>" in page
    assert "2 tickets were paid for; ¥6,000 of them can still be refunded." in page
    assert "Refund everyone in full: ¥6,000" in page
    assert "Refund as the event&#39;s refund policy says (50%): ¥3,000" in page
    assert "No refund" in page
    assert re.search(r'<input checked id="refund-0" name="refund" type="radio" value="full">', page)
    assert "refunded separately" not in page


def test_a_free_events_cancel_page_has_no_money_to_choose_about(
    client, make_event, register, organiser, login, mailbox
):
    event = make_event()
    register(event, 1)
    login(organiser)
    page = client.get(_cancel_page(event)).get_data(as_text=True)
    assert "nothing to refund" in page
    assert 'name="refund"' not in page
    response = _cancel(client, event)
    assert response.status_code == 302
    assert db.session.get(Event, event.id).status == "cancelled"


@pytest.mark.parametrize("value", ["bogus", "", "FULL", " full", "1" * 5000])
def test_a_bad_refund_choice_is_refused_with_a_message_and_cancels_nothing(
    client, cancellable, organiser, login, mailbox, delivered, value
):
    event = cancellable[0]
    login(organiser)
    response = _cancel(client, event, refund=value)
    assert response.status_code == 422
    assert "Choose what happens to the money paid for tickets." in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Event, event.id).status == "published"
    assert delivered.requests_to("POST", "/v1/refunds") == []
    assert mailbox.messages == []


def test_a_bad_refund_choice_is_refused_in_japanese_too(client, cancellable, make_user, login):
    event = cancellable[0]
    japanese = make_user(role="admin", locale="ja")
    login(japanese)
    response = _cancel(client, event, refund="bogus")
    assert response.status_code == 422
    assert "チケットの代金をどうするか選んでください。" in response.get_data(as_text=True)


# --- cancelling: the refunds and the e-mails ------------------------------------------------------


def test_cancelling_an_event_refunds_every_paid_ticket_in_full_and_each_email_says_so(
    client, cancellable, organiser, login, mailbox, delivered
):
    event, paid_en, paid_ja, paying, waiting = cancellable
    login(organiser)
    response = _cancel(client, event, refund="full")
    assert response.status_code == 302
    amounts = [r.params["amount"] for r in delivered.requests_to("POST", "/v1/refunds")]
    assert amounts == ["3000", "3000"]
    for d in delivered.flush():  # Stripe confirms the refunds: nobody gets a second e-mail
        assert d.status == 200
    assert [o.status for o in _orders(paid_en)] == ["refunded"]
    assert [o.status for o in _orders(paid_ja)] == ["refunded"]
    for registration in (paid_en, paid_ja, paying, waiting):
        assert len(mailbox.to(registration.email)) == 1, registration.email
    english = text_of(mailbox.last_to(paid_en.email))
    assert "Event 1 is cancelled" in english and "The venue flooded." in english
    assert "Your payment of ¥3,000 is being refunded in full." in english
    assert "5 to 10 days" in english
    japanese = text_of(mailbox.last_to(paid_ja.email))
    assert "￥3,000" in japanese and "全額返金します" in japanese
    assert "5〜10日" in japanese
    unpaid = text_of(mailbox.last_to(paying.email))
    assert "You will not be charged" in unpaid
    assert "refund" not in text_of(mailbox.last_to(waiting.email)).lower()
    # The records keep the places (calendars, history).
    assert _status(paid_en) == "confirmed"


def test_cancelling_by_the_events_refund_policy_gives_back_its_share_and_says_so(
    client, cancellable, organiser, login, mailbox, delivered
):
    event, paid_en, paid_ja, _, _ = cancellable
    db.session.get(Event, event.id).refund_percent = 50
    db.session.commit()
    login(organiser)
    _cancel(client, event, refund="policy")
    amounts = [r.params["amount"] for r in delivered.requests_to("POST", "/v1/refunds")]
    assert amounts == ["1500", "1500"]
    delivered.flush()
    assert [o.status for o in _orders(paid_en)] == ["partially_refunded"]
    text = text_of(mailbox.last_to(paid_en.email))
    assert (
        "As the event's refund policy says, 50% of your payment is being refunded: ¥1,500." in text
    )
    japanese = text_of(mailbox.last_to(paid_ja.email))
    assert "返金規定に従い" in japanese and "50%" in japanese and "￥1,500" in japanese


def test_cancelling_without_refunds_refunds_nothing_and_each_paid_ticket_is_told(
    client, cancellable, organiser, login, mailbox, delivered
):
    event, paid_en, _, _, _ = cancellable
    login(organiser)
    _cancel(client, event, refund="none")
    assert db.session.get(Event, event.id).status == "cancelled"
    assert delivered.requests_to("POST", "/v1/refunds") == []
    assert "Your payment of ¥3,000 is not refunded for this cancellation." in text_of(
        mailbox.last_to(paid_en.email)
    )
    # The organiser may still refund someone by hand afterwards.
    page = client.get(f"/organiser/events/{event.slug}/attendees").get_data(as_text=True)
    assert f"/attendees/{paid_en.id}/refund" in page


def test_a_refund_stripe_refuses_while_cancelling_is_said_in_that_persons_email(
    client, cancellable, organiser, login, mailbox, delivered
):
    event, paid_en, paid_ja, _, _ = cancellable
    delivered.fail_next("POST", "/v1/refunds", status=402, code="charge_disputed")
    login(organiser)
    _cancel(client, event, refund="full")
    assert db.session.get(Event, event.id).status == "cancelled"
    texts = [text_of(mailbox.last_to(r.email)) for r in (paid_en, paid_ja)]
    assert "We could not start the refund of ¥3,000 automatically." in texts[0]
    assert "全額返金します" in texts[1]  # the other refund went through


# --- the manage page: what was paid, refunds, receipt ---------------------------------------------


def test_the_manage_page_shows_the_amount_paid_its_refunds_and_stripes_receipt(
    client, awaiting_payment, delivered
):
    _, registration, session_id = awaiting_payment()
    delivered.complete(session_id)
    [payment] = db.session.scalars(select(Payment)).all()
    db.session.refresh(payment)
    assert payment.receipt_url.startswith(delivered.url + "/receipts/payment/")
    page = client.get(_manage(registration)).get_data(as_text=True)
    assert "Your payment" in page and "¥3,000" in page
    assert f'href="{payment.receipt_url}"' in page
    assert requests.get(payment.receipt_url, timeout=5).status_code == 200
    payments.refund_order(_orders(registration)[0], 1000)
    page = client.get(_manage(registration)).get_data(as_text=True)
    assert "¥1,000" in page and "on its way" in page
    delivered.flush()
    page = client.get(_manage(registration)).get_data(as_text=True)
    assert "refunded on" in page and "5 to 10 days" in page
    assert "Paid, less refunds" in page and "¥2,000" in page


def test_a_receipt_stripe_could_not_give_at_payment_is_fetched_by_reconcile(
    client, awaiting_payment, delivered
):
    _, registration, session_id = awaiting_payment()
    delivered.fail_next("GET", "/v1/payment_intents/*", status=500, times=3)
    delivered.complete(session_id)
    assert _status(registration) == "confirmed"
    payment = db.session.scalars(select(Payment)).one()
    assert payment.receipt_url is None
    assert "Receipt for this payment" not in client.get(_manage(registration)).get_data(
        as_text=True
    )
    changed = payments.reconcile(utcnow() - timedelta(hours=1))
    assert (f"payment-{payment.id}", "receipt", "stored") in changed
    assert "Receipt for this payment" in client.get(_manage(registration)).get_data(as_text=True)


def test_the_pay_button_says_the_next_step_is_paying_and_the_amount(
    client, make_event, register, fake_stripe
):
    event = make_event(tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)])
    english = register(event, 1)
    japanese = register(event, 2, language="ja")
    assert "Continue to payment — ¥3,000" in client.get(_manage(english)).get_data(as_text=True)
    page = client.get(_manage(japanese), headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "お支払いへ進む（￥3,000）" in page
    assert "Pay now" not in page


# --- a failed payment -----------------------------------------------------------------------------


def test_a_failed_payment_keeps_the_place_held_says_so_and_can_be_tried_again(
    client, awaiting_payment, register, delivered, mailbox
):
    event, registration, session_id = awaiting_payment()
    waiting = register(event, 2)
    mailbox.clear()
    delivered.complete(session_id, async_=True)  # e.g. convenience-store payment, then…
    delivered.async_result(session_id, succeeded=False)  # …it was never paid
    assert [o.status for o in _orders(registration)] == ["failed"]
    assert _status(registration) == "awaiting_payment"
    assert _status(waiting) == "waitlisted"
    message = mailbox.last_to(registration.email)
    assert message["Subject"].startswith("Your payment did not go through")
    text = text_of(message)
    assert "nothing was charged" in text and "you can try again" in text
    assert "in time" not in text
    page = client.get(_manage(registration)).get_data(as_text=True)
    assert "Your payment did not go through. You can try again until" in page
    assert "Try again — ¥3,000" in page
    assert "Expired" not in page
    # Trying again opens a new checkout at Stripe, which can be paid.
    path = _manage(registration)
    retry = submit(client, path, {}, post_path=path + "/pay")
    assert retry.status_code == 303
    second = _session_of(retry)
    assert second != session_id
    delivered.complete(second)
    assert [o.status for o in _orders(registration)] == ["failed", "paid"]
    assert _status(registration) == "confirmed"


def test_a_payment_failing_after_the_hold_ended_releases_the_place_and_says_it_failed(
    client, awaiting_payment, register, delivered, mailbox
):
    event, registration, session_id = awaiting_payment()
    waiting = register(event, 2)
    delivered.complete(session_id, async_=True)
    stored = db.session.get(Registration, registration.id)
    stored.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    delivered.async_result(session_id, succeeded=False)
    assert _status(registration) == "expired"
    assert _status(waiting) == "offered"
    text = text_of(mailbox.last_to(registration.email))
    assert "did not go through, and the time to pay has run out" in text
    page = client.get(_manage(registration)).get_data(as_text=True)
    assert "Your payment did not go through, and the place was released" in page


def test_a_hold_ending_after_a_failed_payment_says_the_payment_failed_and_a_plain_one_not(
    client, awaiting_payment, delivered, mailbox
):
    _, failed, session_id = awaiting_payment(capacity=2)
    delivered.complete(session_id, async_=True)
    delivered.async_result(session_id, succeeded=False)
    _, lapsed, _ = awaiting_payment(capacity=2, number=2)
    mailbox.clear()
    services.expire_holds_and_offers(max(_after_the_hold(failed), _after_the_hold(lapsed)))
    assert _status(failed) == "expired" and _status(lapsed) == "expired"
    assert "Your payment did not go through and the time to try again has run out" in text_of(
        mailbox.last_to(failed.email)
    )
    assert "We did not receive your payment in time" in text_of(mailbox.last_to(lapsed.email))
