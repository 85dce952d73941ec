"""Monthly gifts through the real pages, the real Stripe SDK and the fake Stripe: a Stripe
subscription whose first payment and each month's (invoice.paid) become one DonationPayment and
one e-mail with its receipt; a failed month that makes it past due and tells the donor; and what
the donor does through the gift's private link — a new amount (charged from the next month),
a pause (a month while paused records nothing), a resumption, a cancellation (past payments
kept, nothing recorded after it) — refused with a clear message, changing nothing, when Stripe
cannot be reached; and a wrong link, or another donor's key, that is a 404 and changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from community.core.db import db
from community.core.money import format_money
from community.core.outbox import OutboxItem
from community.payments.models import Payment
from tests.conftest import text_of
from tests.donations.conftest import (
    fresh,
    gift_of,
    give,
    mails_to,
    manage_url_of,
    page_text,
    payments_of,
    pdf_attachments,
    subscription_id_of,
)
from tests.membership.conftest import in_japanese

DONOR = "donor@example.com"
RECEIPT_NUMBER = re.compile(r"RCP-\d{4}-\d{4,}")
NOT_REACHED = "The payment provider could not be reached, so nothing has changed."


def notices_of(donation) -> list[str]:
    """The kinds of the e-mails written to the outbox about this gift, oldest first (exact,
    whenever they are delivered)."""
    db.session.rollback()
    rows = db.session.scalars(
        select(OutboxItem).where(OutboxItem.kind == "donation").order_by(OutboxItem.id)
    )
    return [row.payload["kind"] for row in rows if row.payload.get("donation_id") == donation.id]


def amounts_of(donation) -> list[int]:
    return [row.amount_minor for row in payments_of(donation)]


def token_of(browser, donation) -> str:
    page = page_text(browser.get(manage_url_of(donation)))
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def press(browser, donation, action: str, **fields):
    """Press a button of the gift's private page (its form posts its CSRF token and `fields`)."""
    return browser.post(
        f"{manage_url_of(donation)}/{action}",
        data={"csrf_token": token_of(browser, donation), **fields},
    )


def flashed(browser, donation) -> str:
    return page_text(browser.get(manage_url_of(donation)))


def price_at_stripe(fake_stripe, donation) -> int:
    [item] = fake_stripe.get(subscription_id_of(donation))["items"]["data"]
    return item["price"]["unit_amount"]


@pytest.fixture
def monthly(browser, pay, stripe_delivers, mailbox):
    """monthly(amount="3000", email=DONOR, language="en") → (browser, gift): a monthly gift given
    through `/donate` and its first month paid at the fake Stripe (its e-mail delivered)."""

    def make(amount: str = "3000", email: str = DONOR, language: str = "en"):
        donor = browser(language)
        response = give(donor, kind="monthly", amount="other", other_amount=amount, email=email)
        assert response.status_code == 303, response.get_data(as_text=True)
        pay(response)
        gift = fresh(gift_of(email))
        assert gift.status == "active"
        mails_to(mailbox, email, 1)
        return donor, gift

    return make


# --- the subscription and its payments -----------------------------------------------------------


def test_a_monthly_gift_is_a_stripe_subscription_whose_first_payment_is_recorded_and_mailed(
    frozen, app, browser, pay, stripe_delivers, mailbox
):
    donor = browser()

    response = give(donor, kind="monthly", amount="other", other_amount="3000")

    asked = stripe_delivers.last_request("POST", "/v1/checkout/sessions").params
    assert asked["mode"] == "subscription"
    [line] = asked["line_items"]
    assert line["price_data"]["recurring"] == {"interval": "month"}
    assert line["price_data"]["unit_amount"] == "3000"
    assert asked["subscription_data"]["metadata"]["purpose"] == "donation"
    gift = gift_of(DONOR)
    assert (gift.kind, gift.status) == ("monthly", "pending")

    deliveries = pay(response)

    assert [d.type for d in deliveries] == ["checkout.session.completed", "invoice.paid"]
    assert all(d.ok for d in deliveries)
    gift = fresh(gift)
    assert gift.status == "active" and gift.confirmed_at is not None
    assert stripe_delivers.get(subscription_id_of(gift))["status"] == "active"
    assert amounts_of(gift) == [3000]
    assert notices_of(gift) == ["monthly_started"]
    [message] = mails_to(mailbox, DONOR)
    assert message["Subject"] == "Thank you: your monthly donation has started"
    body = text_of(message)
    assert "Thank you: your monthly donation of ¥3,000 has started." in body
    [number] = RECEIPT_NUMBER.findall(body)
    [attachment] = pdf_attachments(message)
    assert attachment.get_filename() == f"{number}.pdf"
    assert manage_url_of(gift) in body
    page = page_text(donor.get(manage_url_of(gift)))
    assert "¥3,000/month" in page and "Charged each month. Thank you!" in page


def test_each_months_payment_is_recorded_once_and_mailed_with_its_receipt(
    frozen, app, monthly, renew, stripe_delivers, mailbox
):
    donor, gift = monthly("3000")

    [second] = renew(gift)
    [third] = renew(gift)
    stripe_delivers.deliver(third, times=2)  # a repeated event records nothing more

    assert second.type == "invoice.paid" and second.ok and third.ok
    gift = fresh(gift)
    assert gift.status == "active"
    assert amounts_of(gift) == [3000, 3000, 3000]
    assert gift.given_minor == 9000
    assert notices_of(gift) == ["monthly_started", "monthly_paid", "monthly_paid"]
    messages = mails_to(mailbox, DONOR, 3)
    assert [m["Subject"] for m in messages[1:]] == ["Your monthly donation: receipt"] * 2
    numbers = set()
    for message in messages[1:]:
        body = text_of(message)
        assert "Thank you: this month's donation of ¥3,000 is paid." in body
        [number] = RECEIPT_NUMBER.findall(body)
        [attachment] = pdf_attachments(message)
        assert attachment.get_filename() == f"{number}.pdf"
        assert manage_url_of(gift) in body
        numbers.add(number)
    assert len(numbers) == 2  # each month its own receipt
    renewals = db.session.scalars(
        select(Payment).where(Payment.order_id == gift.order_id, Payment.kind == "renewal")
    ).all()
    assert {p.id for p in renewals} == {row.payment_id for row in payments_of(gift)[1:]}
    page = page_text(donor.get(manage_url_of(gift)))
    assert "¥9,000" in page  # given so far
    for row in payments_of(gift):
        assert f"/receipts/{row.payment_id}.pdf" in page


def test_a_failed_month_makes_the_gift_past_due_and_tells_the_donor(
    frozen, app, monthly, renew, stripe_delivers, mailbox
):
    donor, gift = monthly("3000")

    deliveries = renew(gift, paid=False)

    assert [d.type for d in deliveries] == [
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    gift = fresh(gift)
    assert gift.status == "past_due"
    assert amounts_of(gift) == [3000]
    assert notices_of(gift) == ["monthly_started", "past_due"]  # told once
    message = mails_to(mailbox, DONOR, 2)[-1]
    assert message["Subject"] == "Your monthly donation could not be charged"
    body = text_of(message)
    assert "We could not charge your card for this month's donation of ¥3,000." in body
    assert manage_url_of(gift) in body
    assert pdf_attachments(message) == []
    page = page_text(donor.get(manage_url_of(gift)))
    assert "The last payment could not be charged" in page
    assert "Pay with another card" in page
    # Paying with another card goes to Stripe's page of the unpaid invoice.
    card = press(donor, gift, "card")
    assert card.status_code == 303
    assert card.headers["Location"].startswith(f"{stripe_delivers.url}/invoices/")


def test_a_past_due_gift_paid_the_next_time_is_active_again(frozen, app, monthly, renew, mailbox):
    _, gift = monthly("3000")
    renew(gift, paid=False)

    renew(gift)

    gift = fresh(gift)
    assert gift.status == "active"
    assert amounts_of(gift) == [3000, 3000]
    assert notices_of(gift) == ["monthly_started", "past_due", "monthly_paid"]


# --- what the donor changes ----------------------------------------------------------------------


def test_the_donor_changes_the_amount_and_the_next_month_charges_the_new_one(
    frozen, app, monthly, renew, stripe_delivers, mailbox
):
    donor, gift = monthly("3000")
    subscription_id = subscription_id_of(gift)

    response = press(donor, gift, "amount", amount="５,０００")

    assert response.status_code == 302
    assert response.headers["Location"] == manage_url_of(gift)
    asked = stripe_delivers.last_request("POST", f"/v1/subscriptions/{subscription_id}").params
    assert asked["proration_behavior"] == "none"
    assert asked["items"][0]["price_data"]["unit_amount"] == "5000"
    assert price_at_stripe(stripe_delivers, gift) == 5000
    gift = fresh(gift)
    assert (gift.status, gift.amount_minor) == ("active", 5000)
    assert amounts_of(gift) == [3000]  # nothing charged now
    page = flashed(donor, gift)
    assert "Your monthly amount is changed from the next payment on." in page
    assert "¥5,000/month" in page
    message = mails_to(mailbox, DONOR, 2)[-1]
    assert message["Subject"] == "Your monthly donation's amount has changed"

    renew(gift)

    assert amounts_of(gift) == [3000, 5000]
    assert fresh(gift).given_minor == 8000
    renewal_mail = mails_to(mailbox, DONOR, 3)[-1]
    assert "this month's donation of ¥5,000 is paid" in text_of(renewal_mail)
    stripe_delivers.flush()  # Stripe's own event about the change tells nothing more
    assert notices_of(gift) == ["monthly_started", "amount_changed", "monthly_paid"]


def test_an_amount_outside_the_limits_is_refused_and_changes_nothing(
    frozen, app, monthly, stripe_delivers, mailbox
):
    donor, gift = monthly("3000")

    for typed, refusal in (
        ("100", "Gifts start at ¥500."),
        ("lots", "Give the amount as a number"),
    ):
        response = press(donor, gift, "amount", amount=typed)
        assert response.status_code == 302
        assert refusal in flashed(donor, gift)

    assert stripe_delivers.requests_to("POST", "/v1/subscriptions/*") == []
    assert price_at_stripe(stripe_delivers, gift) == 3000
    assert fresh(gift).amount_minor == 3000
    assert notices_of(gift) == ["monthly_started"]


def test_a_paused_gift_records_nothing_for_a_month_and_charges_again_once_resumed(
    frozen, app, monthly, renew, stripe_delivers, mailbox
):
    donor, gift = monthly("3000")
    subscription_id = subscription_id_of(gift)

    paused = press(donor, gift, "pause")
    stripe_delivers.flush()  # Stripe's own event about it, as it comes soon after

    assert paused.status_code == 302
    asked = stripe_delivers.last_request("POST", f"/v1/subscriptions/{subscription_id}").params
    assert asked == {"pause_collection": {"behavior": "void"}}
    assert fresh(gift).status == "paused"
    page = flashed(donor, gift)
    assert "Your monthly gift is paused." in page
    assert "Resume the gift" in page and "Pause the gift" not in page
    assert mails_to(mailbox, DONOR, 2)[-1]["Subject"] == "Your monthly donation is paused"

    [voided] = renew(gift)

    assert voided.type == "invoice.voided" and voided.ok
    gift = fresh(gift)
    assert gift.status == "paused"
    assert amounts_of(gift) == [3000]
    assert notices_of(gift) == ["monthly_started", "paused"]

    resumed = press(donor, gift, "resume")
    stripe_delivers.flush()

    assert resumed.status_code == 302
    assert stripe_delivers.get(subscription_id).get("pause_collection") is None
    assert fresh(gift).status == "active"
    assert "Your monthly gift continues. Thank you." in flashed(donor, gift)
    assert mails_to(mailbox, DONOR, 3)[-1]["Subject"] == "Your monthly donation continues"

    renew(gift)

    assert amounts_of(gift) == [3000, 3000]
    assert notices_of(gift) == ["monthly_started", "paused", "resumed", "monthly_paid"]


@pytest.mark.parametrize("newest_first", [False, True])
def test_stripes_late_events_about_a_pause_and_a_resume_change_nothing_more(
    frozen, app, monthly, renew, stripe_delivers, newest_first
):
    """Stripe tells of each change in an event carrying the subscription as it was then; both
    arriving after both changes were recorded (in order, or the newest first) leave the gift
    running, its donor told once of each, and the next month charged and recorded."""
    donor, gift = monthly("3000")
    press(donor, gift, "pause")
    press(donor, gift, "resume")
    assert notices_of(gift) == ["monthly_started", "paused", "resumed"]

    events = stripe_delivers.take_pending()
    assert [event["type"] for event in events] == ["customer.subscription.updated"] * 2
    for event in reversed(events) if newest_first else events:
        [delivery] = stripe_delivers.deliver(event)
        assert delivery.ok

    assert fresh(gift).status == "active"
    assert notices_of(gift) == ["monthly_started", "paused", "resumed"]
    renew(gift)
    assert amounts_of(gift) == [3000, 3000]


def test_a_cancelled_gift_keeps_its_payments_and_records_nothing_after(
    frozen, app, monthly, renew, stripe_delivers, mailbox
):
    donor, gift = monthly("3000")
    renew(gift)
    subscription_id = subscription_id_of(gift)

    response = press(donor, gift, "cancel")

    assert response.status_code == 302
    assert stripe_delivers.requests_to("DELETE", f"/v1/subscriptions/{subscription_id}")
    assert stripe_delivers.get(subscription_id)["status"] == "canceled"
    gift = fresh(gift)
    assert gift.status == "cancelled"
    assert gift.ended_at is not None and gift.cancel_requested_at is not None
    assert amounts_of(gift) == [3000, 3000]
    assert gift.given_minor == 6000
    page = flashed(donor, gift)
    assert "Your monthly gift is cancelled: nothing more will be charged." in page
    assert "Cancelled: nothing more is charged." in page
    assert "Change the amount" not in page and "Pause the gift" not in page
    assert "¥6,000" in page  # what was given stays given, with its receipts
    for row in payments_of(gift):
        assert f"/receipts/{row.payment_id}" in page
    assert mails_to(mailbox, DONOR, 3)[-1]["Subject"] == "Your monthly donation has stopped"

    # Stripe's word on it, and a month Stripe would still charge by mistake, record nothing.
    stripe_delivers.flush()
    stripe_delivers.update_subscription(subscription_id, status="active")
    renew(gift)

    gift = fresh(gift)
    assert gift.status == "cancelled"
    assert amounts_of(gift) == [3000, 3000]
    assert notices_of(gift) == ["monthly_started", "monthly_paid", "cancelled"]
    # Nothing is left to change.
    for action, fields in (("amount", {"amount": "5000"}), ("pause", {}), ("cancel", {})):
        press(donor, gift, action, **fields)
        assert "This monthly gift has ended: there is nothing to change." in flashed(donor, gift)
    assert fresh(gift).status == "cancelled"


# --- Stripe cannot be reached --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fields", "method"),
    [
        ("amount", {"amount": "5000"}, "POST"),
        ("pause", {}, "POST"),
        ("cancel", {}, "DELETE"),
    ],
)
def test_a_change_stripe_cannot_be_asked_about_is_refused_and_changes_nothing(
    frozen, app, monthly, stripe_delivers, mailbox, action, fields, method
):
    donor, gift = monthly("3000")
    subscription_id = subscription_id_of(gift)
    stripe_delivers.fail_next(method, f"/v1/subscriptions/{subscription_id}", times=10)

    response = press(donor, gift, action, **fields)

    assert response.status_code == 302
    assert stripe_delivers.requests_to(method, f"/v1/subscriptions/{subscription_id}")
    page = flashed(donor, gift)
    assert NOT_REACHED in page
    gift = fresh(gift)
    assert (gift.status, gift.amount_minor) == ("active", 3000)
    assert gift.cancel_requested_at is None and gift.ended_at is None
    at_stripe = stripe_delivers.get(subscription_id)
    assert at_stripe["status"] == "active"
    assert not at_stripe.get("pause_collection")
    assert price_at_stripe(stripe_delivers, gift) == 3000
    assert notices_of(gift) == ["monthly_started"]


def test_a_resumption_stripe_cannot_be_asked_about_leaves_the_gift_paused(
    frozen, app, monthly, stripe_delivers, mailbox
):
    donor, gift = monthly("3000")
    subscription_id = subscription_id_of(gift)
    press(donor, gift, "pause")
    stripe_delivers.fail_next("POST", f"/v1/subscriptions/{subscription_id}", times=10)

    press(donor, gift, "resume")

    assert NOT_REACHED in flashed(donor, gift)
    assert fresh(gift).status == "paused"
    assert stripe_delivers.get(subscription_id)["pause_collection"]["behavior"] == "void"
    assert notices_of(gift) == ["monthly_started", "paused"]


# --- a wrong link --------------------------------------------------------------------------------

ACTIONS = [
    ("amount", {"amount": "5000"}),
    ("pause", {}),
    ("resume", {}),
    ("cancel", {}),
    ("wall", {"wall": "name", "donor_name": "Mallory"}),
    ("card", {}),
]


def assert_unchanged(stripe_delivers, gift, subscription_id) -> None:
    now = fresh(gift)
    assert (now.status, now.amount_minor, now.wall, now.donor_name) == (
        "active",
        3000,
        "anonymous",
        "",
    )
    assert now.cancel_requested_at is None
    assert stripe_delivers.requests_to("POST", f"/v1/subscriptions/{subscription_id}") == []
    assert stripe_delivers.requests_to("DELETE", f"/v1/subscriptions/{subscription_id}") == []
    assert notices_of(gift) == ["monthly_started"]


def test_a_post_to_the_private_pages_actions_with_a_wrong_key_is_404_and_changes_nothing(
    frozen, app, monthly, browser, stripe_delivers, mailbox
):
    _, gift = monthly("3000")
    subscription_id = subscription_id_of(gift)
    stranger = browser()
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', page_text(stranger.get("/donate"))
    ).group(1)
    right_key = manage_url_of(gift).rsplit("/", 1)[-1]
    wrong_keys = ["0" * 32, right_key[:-1] + ("0" if right_key[-1] != "0" else "1"), "ｘ" * 32]

    for key in wrong_keys:
        assert stranger.get(f"/donate/gifts/{gift.id}/{key}").status_code == 404
        for action, fields in ACTIONS:
            response = stranger.post(
                f"/donate/gifts/{gift.id}/{key}/{action}", data={"csrf_token": token, **fields}
            )
            assert response.status_code == 404, (key, action)

    assert_unchanged(stripe_delivers, gift, subscription_id)


def test_another_donors_link_does_not_open_this_gift(
    frozen, app, monthly, stripe_delivers, mailbox
):
    _, gift = monthly("3000", email="first@example.com")
    other_donor, other_gift = monthly("4000", email="second@example.com")
    subscription_id = subscription_id_of(gift)
    other_key = manage_url_of(other_gift).rsplit("/", 1)[-1]
    token = token_of(other_donor, other_gift)
    borrowed = f"/donate/gifts/{gift.id}/{other_key}"

    assert other_donor.get(borrowed).status_code == 404
    assert other_donor.get(f"{borrowed}/statement/2030").status_code == 404
    [first_payment] = payments_of(gift)
    assert other_donor.get(f"{borrowed}/receipts/{first_payment.payment_id}").status_code == 404
    for action, fields in ACTIONS:
        response = other_donor.post(f"{borrowed}/{action}", data={"csrf_token": token, **fields})
        assert response.status_code == 404, action

    assert_unchanged(stripe_delivers, gift, subscription_id)
    # The other donor's own gift is untouched as well.
    other = fresh(other_gift)
    assert (other.status, other.amount_minor) == ("active", 4000)


def test_a_japanese_donor_hears_of_each_month_and_of_a_refusal_in_japanese(
    frozen, app, monthly, renew, stripe_delivers, mailbox
):
    donor, gift = monthly("3000", language="ja")
    assert gift.language == "ja"

    renew(gift)
    stripe_delivers.fail_next("POST", f"/v1/subscriptions/{subscription_id_of(gift)}", times=10)
    press(donor, gift, "pause")

    message = mails_to(mailbox, DONOR, 2)[-1]
    assert message["Subject"] == in_japanese("Your monthly donation: receipt")
    assert message["Subject"] != "Your monthly donation: receipt"
    amount = format_money(3000, "JPY", "ja")
    expected = in_japanese("Thank you: this month's donation of %(amount)s is paid.")
    assert expected % {"amount": amount} in text_of(message)
    assert pdf_attachments(message)
    page = flashed(donor, gift)
    assert in_japanese(NOT_REACHED + " Please try again in a moment.") in page
    assert NOT_REACHED not in page
    assert fresh(gift).status == "active"
