"""Every refund tells the buyer once, in their language, with the amount and when to expect it:
the organiser's (all, or part with or without the place), the administrator's, the person's own
cancellation (by the event's policy), the organiser cancelling a place, one made in Stripe's
dashboard, and the automatic one for money that came too late. Stripe's confirmation that
follows sends nothing more. Through the real SDK and the fake Stripe server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.core.db import db
from community.events import services
from community.events.models import Event, Registration
from community.payments.models import Order
from tests.conftest import submit, text_of
from tests.payments.test_checkout import _paid_event, _pay, _session_of, _status

BANK_DAYS = "your bank may take 5 to 10 days"


@pytest.fixture
def paid(client, make_event, register, fake_stripe, mailbox):
    """paid(language="en", **event fields) → (event, registration, order) of a ticket paid at
    the fake Stripe, with the mailbox emptied after its confirmation."""
    from tests.payments.fake_stripe import flask_client_sender

    fake_stripe.webhook_sender = flask_client_sender(client)

    def make(language: str = "en", **fields):
        event = _paid_event(make_event, capacity=fields.pop("capacity", 1))
        for name, value in fields.items():
            setattr(db.session.get(Event, event.id), name, value)
        db.session.commit()
        registration = register(event, 1, language=language)
        fake_stripe.complete(_session_of(_pay(client, registration)))
        assert _status(registration) == "confirmed"
        mailbox.clear()
        return event, registration, _order(registration)

    return make


def _order(registration) -> Order:
    db.session.rollback()
    return db.session.scalar(
        select(Order).where(Order.reference == str(registration.id)).order_by(Order.id)
    )


def _one_mail(mailbox, fake_stripe, address: str):
    """The one e-mail the action sent to `address` — and none more once Stripe's events (the
    refund's confirmation) have arrived."""
    for delivery in fake_stripe.flush():
        assert delivery.status == 200
    messages = mailbox.to(address)
    assert len(messages) == 1, [m["Subject"] for m in messages]
    return messages[0]


def _attendees(event) -> str:
    return f"/organiser/events/{event.slug}/attendees"


def _refund_from_the_attendee_list(client, event, registration, **data):
    page = _attendees(event)
    return submit(client, page, data, post_path=f"{page}/{registration.id}/refund")


def _refund_form_of(registration) -> str:
    return f'/attendees/{registration.id}/refund"'


# --- the organiser's refunds from the attendee list ----------------------------------------------


def test_an_organisers_full_refund_emails_the_amount_and_that_the_place_goes(
    client, paid, fake_stripe, organiser, login, mailbox
):
    event, registration, _ = paid()
    login(organiser)
    assert _refund_form_of(registration) in client.get(_attendees(event)).get_data(as_text=True)
    response = _refund_from_the_attendee_list(client, event, registration, amount="")
    assert response.status_code == 302
    message = _one_mail(mailbox, fake_stripe, registration.email)
    assert message["Subject"].startswith("Your payment is being refunded")
    text = text_of(message)
    assert "Your payment of ¥3,000 for Event 1 is being refunded in full." in text
    assert "your registration is cancelled" in text
    assert BANK_DAYS in text
    assert _order(registration).status == "refunded"
    assert _status(registration) == "cancelled"
    # Nothing is left to refund: the action is no longer offered.
    assert _refund_form_of(registration) not in client.get(_attendees(event)).get_data(as_text=True)


def test_an_organisers_part_refund_that_keeps_the_place_says_so(
    client, paid, fake_stripe, organiser, login, mailbox
):
    event, registration, _ = paid()
    login(organiser)
    _refund_from_the_attendee_list(client, event, registration, amount="1000")
    text = text_of(_one_mail(mailbox, fake_stripe, registration.email))
    assert "¥1,000 of your payment for Event 1 is being refunded." in text
    assert "Your place is kept" in text
    assert BANK_DAYS in text
    assert _status(registration) == "confirmed"
    # ¥2,000 is left: the refund is still offered.
    assert _refund_form_of(registration) in client.get(_attendees(event)).get_data(as_text=True)


def test_an_organisers_part_refund_that_cancels_the_place_is_one_email_saying_both(
    client, paid, fake_stripe, organiser, login, mailbox
):
    event, registration, _ = paid()
    login(organiser)
    _refund_from_the_attendee_list(client, event, registration, amount="1000", cancel="y")
    message = _one_mail(mailbox, fake_stripe, registration.email)
    assert message["Subject"].startswith("Your registration is cancelled")
    text = text_of(message)
    assert "¥1,000 of your payment of ¥3,000 is being refunded." in text
    assert "Your bank may take 5 to 10 days" in text
    assert _status(registration) == "cancelled"


def test_an_organiser_cancelling_a_paid_place_sends_one_email_with_the_refund(
    client, paid, fake_stripe, organiser, login, mailbox
):
    event, registration, _ = paid()
    login(organiser)
    page = _attendees(event)
    submit(client, page, {}, post_path=f"{page}/{registration.id}/cancel")
    message = _one_mail(mailbox, fake_stripe, registration.email)
    assert message["Subject"].startswith("Your registration is cancelled")
    text = text_of(message)
    assert "Your payment of ¥3,000 is being refunded in full." in text
    assert "reached us after" not in text  # not the late-money wording


def test_refunding_a_ticket_refunded_in_full_is_refused_with_a_message_and_changes_nothing(
    client, paid, fake_stripe, organiser, login, mailbox
):
    event, registration, _ = paid(capacity=2)
    login(organiser)
    _refund_from_the_attendee_list(client, event, registration, amount="")
    fake_stripe.flush()
    mailbox.clear()
    response = _refund_from_the_attendee_list(client, event, registration, amount="500")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This payment is already refunded in full" in page
    assert len(fake_stripe.requests_to("POST", "/v1/refunds")) == 1
    assert _order(registration).refunded_minor == 3000
    assert mailbox.to(registration.email) == []


# --- the administrator's refund from the order page ----------------------------------------------


def test_an_administrators_refund_emails_the_buyer_in_their_language_and_is_then_not_offered(
    client, paid, fake_stripe, make_user, login, mailbox
):
    _, registration, order = paid(language="ja")
    login(make_user(role="admin"))
    page = f"/organiser/orders/{order.id}"
    assert f'action="{page}/refund"' in client.get(page).get_data(as_text=True)
    submit(client, page, {"amount": ""}, post_path=f"{page}/refund")
    message = _one_mail(mailbox, fake_stripe, registration.email)
    assert message["Subject"].startswith("【返金のお知らせ】")
    text = text_of(message)
    assert "全額返金します" in text
    assert "￥3,000" in text
    assert "5〜10日" in text
    assert _status(registration) == "cancelled"
    shown = client.get(page).get_data(as_text=True)
    assert f'action="{page}/refund"' not in shown
    # Asked again anyway: a clear refusal, and Stripe is not asked.
    again = submit(client, page, {"amount": "100"}, post_path=f"{page}/refund")
    refused = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This payment is already refunded in full" in refused
    assert len(fake_stripe.requests_to("POST", "/v1/refunds")) == 1


def test_a_refund_stripe_refuses_tells_the_buyer_nothing_and_the_one_that_works_once(
    client, paid, fake_stripe, make_user, login, mailbox
):
    _, registration, order = paid()
    login(make_user(role="admin"))
    fake_stripe.fail_next("POST", "/v1/refunds", status=402, code="charge_disputed")
    page = f"/organiser/orders/{order.id}"
    response = submit(client, page, {"amount": ""}, post_path=f"{page}/refund")
    assert "could not be made" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert mailbox.to(registration.email) == []
    assert _status(registration) == "confirmed"
    submit(client, page, {"amount": "1000"}, post_path=f"{page}/refund")
    message = _one_mail(mailbox, fake_stripe, registration.email)
    assert message["Subject"].startswith("Your payment is being refunded")
    assert "¥1,000 of your payment for Event 1 is being refunded." in text_of(message)


def test_a_refund_made_in_stripes_dashboard_is_emailed_once(paid, fake_stripe, mailbox):
    _, registration, order = paid()
    fake_stripe.refund_from_dashboard(order.payments[0].payment_intent_id, 1000)
    text = text_of(_one_mail(mailbox, fake_stripe, registration.email))
    assert "¥1,000 of your payment for Event 1 is being refunded." in text
    assert "Your place is kept" in text


# --- the person's own cancellation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "said"),
    [
        (100, "Your payment of ¥3,000 is being refunded in full."),
        (50, "As the event's refund policy says, 50% of your payment is being refunded: ¥1,500."),
        (0, "so your payment of ¥3,000 is not refunded."),
    ],
)
def test_a_person_cancelling_gets_one_email_saying_what_the_policy_gives_back(
    client, paid, fake_stripe, mailbox, share, said
):
    _, registration, _ = paid(refund_percent=share)
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    submit(client, path, {}, post_path=path + "/cancel")
    message = _one_mail(mailbox, fake_stripe, registration.email)
    assert message["Subject"].startswith("Your registration is cancelled")
    text = text_of(message)
    assert said in text
    assert ("5 to 10 days" in text) is (share > 0)


# --- automatic refunds ---------------------------------------------------------------------------


def test_a_second_payment_refunded_in_full_never_cancels_the_place_the_first_one_paid_for(
    client, awaiting_payment, fake_stripe, mailbox
):
    _, registration, first = awaiting_payment()
    fake_stripe.complete(first, async_=True)
    fake_stripe.async_result(first, succeeded=False)  # the first try failed…
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    second = _session_of(submit(client, path, {}, post_path=path + "/pay"))
    assert second != first
    fake_stripe.async_result(first, succeeded=True)  # …then settled late after all
    assert _status(registration) == "confirmed"
    mailbox.clear()
    fake_stripe.complete(second)  # the second try is paid too: it goes back in full
    for delivery in fake_stripe.flush():
        assert delivery.status == 200
    assert "this second payment of ¥3,000 is being refunded in full" in text_of(
        mailbox.last_to(registration.email)
    )
    orders = db.session.scalars(
        select(Order.status).where(Order.reference == str(registration.id)).order_by(Order.id)
    ).all()
    assert orders == ["paid", "refunded"]
    assert db.session.get(Registration, registration.id).status == "confirmed"
