"""Renewals through the real pages, the real Stripe SDK and the fake Stripe: a plan renewed by a
yearly card subscription (its checkout, each renewal Stripe charges, a failed charge and the page
where the member pays it with another card, its end), the member stopping and resuming its
automatic renewal, and a plan renewed by a payment each year (offered near the end, extending from
the old end, a second payment of the same term refunded, a change of plan, a free plan renewed
with a click)."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from community.accounts.membership import has_benefit, is_member
from community.core.db import db
from community.membership import jobs, mail, services
from community.payments.models import Order
from tests.conftest import csrf_token_from, link_in, text_of
from tests.membership.conftest import (
    TOKYO,
    fresh,
    in_japanese,
    join,
    kinds,
    page_text,
    session_id_of,
    subscription_id_of,
)

JOINED_ENDS = datetime(2031, 5, 10, 10, 0, tzinfo=TOKYO)


def period_end_at_stripe(fake_stripe, subscription_id: str) -> datetime:
    [item] = fake_stripe.get(subscription_id)["items"]["data"]
    return datetime.fromtimestamp(item["current_period_end"], UTC)


def token_of(browser) -> str:
    return csrf_token_from(browser.get("/membership").get_data(as_text=True))


def press(browser, path: str, **fields):
    """Press a button of `/membership` (its form posts its CSRF token and `fields`)."""
    return browser.post(path, data={"csrf_token": token_of(browser), **fields})


def subjects(mailbox, user) -> list[str]:
    return [message["Subject"] for message in mailbox.to(user.email)]


@pytest.fixture
def subscription_plan(make_plan):
    return make_plan(renewal="subscription", price_minor=6000, name_en="Supporter")


# --- renewed by a yearly subscription ------------------------------------------------------------


def test_a_subscription_plan_is_paid_by_a_yearly_subscription_that_renews_itself(
    frozen, app, subscription_plan, make_user, browser_of, pay, stripe_delivers, mailbox
):
    user = make_user()
    browser = browser_of(user)

    response = join(browser, subscription_plan)

    assert response.status_code == 303
    asked = stripe_delivers.last_request("POST", "/v1/checkout/sessions").params
    assert asked["mode"] == "subscription"
    [line] = asked["line_items"]
    assert line["price_data"]["recurring"] == {"interval": "year"}
    assert line["price_data"]["unit_amount"] == "6000"
    pay(response.headers["Location"])
    membership = fresh(services.current_membership(user))
    assert (membership.status, membership.renewal, membership.auto_renew) == (
        "active",
        "subscription",
        True,
    )
    assert membership.ends_at == JOINED_ENDS
    assert is_member(user)
    message = mailbox.last_to(user.email)
    assert "renews itself each year by card" in text_of(message)
    assert [a.get_content_type() for a in message.iter_attachments()] == ["application/pdf"]
    page = page_text(browser.get("/membership"))
    assert "Renews itself on" in page
    assert "Stop automatic renewal" in page
    assert "Renew for another year" not in page


def test_stripes_renewal_extends_the_membership_by_the_period_it_reports_with_a_receipt(
    frozen, app, subscription_plan, member, stripe_delivers, mailbox
):
    user, _, membership = member(subscription_plan)
    subscription_id = subscription_id_of(membership)
    mailbox.clear()

    deliveries = stripe_delivers.renew_subscription(subscription_id)

    assert [d.type for d in deliveries] == ["invoice.paid"]
    membership = fresh(membership)
    assert membership.ends_at == period_end_at_stripe(stripe_delivers, subscription_id)
    assert membership.ends_at == datetime(2032, 5, 10, 10, 0, tzinfo=TOKYO)
    assert (membership.status, membership.terms, membership.auto_renew) == ("active", 2, True)
    renewed = membership.history[-1]
    assert (renewed.kind, renewed.amount_minor, renewed.payment_id is not None) == (
        "renewed",
        6000,
        True,
    )
    [message] = mailbox.to(user.email)
    assert message["Subject"] == "Your membership is renewed"
    body = text_of(message)
    assert "it now runs until 10 May 2032" in body
    assert "Your receipt (RCP-" in body
    [attachment] = message.iter_attachments()
    assert attachment.get_content().startswith(b"%PDF-")
    # Stripe delivering it again changes nothing again.
    stripe_delivers.deliver(deliveries[0].event["id"], times=2)
    assert kinds(membership) == ["joined", "renewed"]
    assert len(mailbox.to(user.email)) == 1


def test_a_failed_renewal_is_past_due_paid_with_another_card_on_stripes_invoice_page(
    frozen, app, subscription_plan, member, stripe_delivers, mailbox
):
    user, browser, membership = member(subscription_plan)
    subscription_id = subscription_id_of(membership)
    stripe_delivers.renew_subscription(subscription_id)
    mailbox.clear()

    stripe_delivers.renew_subscription(subscription_id, paid=False)

    membership = fresh(membership)
    assert membership.status == "past_due"
    assert is_member(user) and has_benefit(user, "member_prices")  # until the grace ends
    assert kinds(membership)[-1] == "past_due"
    [message] = mailbox.to(user.email)
    assert message["Subject"] == "Your membership's renewal could not be charged"
    assert link_in(message, "/membership") == "http://localhost/membership"
    page = page_text(browser.get("/membership"))
    assert "Renewal payment failed" in page
    assert "Pay with another card" in page

    response = press(browser, f"/membership/{membership.id}/card")

    assert response.status_code == 303
    invoice = stripe_delivers.objects("invoice")[-1]
    assert invoice["status"] == "open"
    assert response.headers["Location"] == invoice["hosted_invoice_url"]
    assert response.headers["Location"].startswith(stripe_delivers.url)
    with urllib.request.urlopen(response.headers["Location"], timeout=10) as hosted:
        assert hosted.status == 200
        assert "6000 jpy" in hosted.read().decode()

    stripe_delivers.renew_subscription(subscription_id)  # paid this time

    membership = fresh(membership)
    assert membership.status == "active"
    assert membership.ends_at == period_end_at_stripe(stripe_delivers, subscription_id)
    assert kinds(membership)[-1] == "renewed"
    assert "Pay with another card" not in page_text(browser.get("/membership"))


def test_nothing_owed_means_no_card_page(
    frozen, app, subscription_plan, member, stripe_delivers, mailbox
):
    _, browser, membership = member(subscription_plan)

    response = press(browser, f"/membership/{membership.id}/card")

    assert response.status_code == 302
    assert "Nothing is owed on this membership." in page_text(browser.get("/membership"))


def test_a_subscription_cancelled_at_stripe_ends_the_membership_and_its_benefits(
    frozen, app, subscription_plan, member, stripe_delivers, mailbox
):
    user, _, membership = member(subscription_plan)
    mailbox.clear()

    stripe_delivers.cancel_subscription(subscription_id_of(membership))

    membership = fresh(membership)
    assert (membership.status, membership.auto_renew) == ("cancelled", False)
    assert not is_member(user)
    assert not has_benefit(user, "member_prices")
    assert kinds(membership)[-1] == "cancelled"
    assert subjects(mailbox, user) == ["Your membership has ended"]


def test_a_subscription_whose_member_stopped_it_expires_at_the_end_of_its_period(
    frozen, app, subscription_plan, member, browser_of, stripe_delivers, mailbox
):
    user, browser, membership = member(subscription_plan)
    press(browser, f"/membership/{membership.id}/auto-renew", renew="off")
    frozen.move_to(JOINED_ENDS + timedelta(minutes=5))
    mailbox.clear()

    stripe_delivers.cancel_subscription(subscription_id_of(membership))

    membership = fresh(membership)
    assert membership.status == "expired"
    assert not is_member(user)
    assert subjects(mailbox, user) == ["Your membership has expired"]


# --- the member stops (and resumes) automatic renewal --------------------------------------------


def test_a_member_stops_and_resumes_automatic_renewal_at_stripe(
    frozen, app, subscription_plan, member, stripe_delivers, mailbox
):
    user, browser, membership = member(subscription_plan)
    subscription_id = subscription_id_of(membership)
    ends_at = membership.ends_at
    mailbox.clear()

    stopped = press(browser, f"/membership/{membership.id}/auto-renew", renew="off")

    assert stopped.status_code == 302
    asked = stripe_delivers.last_request("POST", f"/v1/subscriptions/{subscription_id}")
    assert asked.params == {"cancel_at_period_end": "true"}
    membership = fresh(membership)
    assert (membership.status, membership.ends_at, membership.auto_renew) == (
        "active",
        ends_at,
        False,
    )
    assert is_member(user)
    assert kinds(membership) == ["joined", "auto_renew_off"]
    [message] = mailbox.to(user.email)
    assert message["Subject"] == "Your membership will not renew itself"
    assert "it runs until 10 May 2031 and then ends" in text_of(message)
    page = page_text(browser.get("/membership"))
    assert "Automatic renewal is stopped: your membership runs to its end date." in page
    assert "Renew automatically again" in page
    # Stripe's own word on the change comes later and finds nothing to change.
    assert [d.type for d in stripe_delivers.flush()] == ["customer.subscription.updated"]
    assert kinds(membership) == ["joined", "auto_renew_off"]
    assert len(mailbox.to(user.email)) == 1

    resumed = press(browser, f"/membership/{membership.id}/auto-renew", renew="on")

    assert resumed.status_code == 302
    asked = stripe_delivers.last_request("POST", f"/v1/subscriptions/{subscription_id}")
    assert asked.params == {"cancel_at_period_end": "false"}
    membership = fresh(membership)
    assert (membership.status, membership.ends_at, membership.auto_renew) == (
        "active",
        ends_at,
        True,
    )
    assert subjects(mailbox, user)[-1] == "Your membership renews itself again"
    assert "Stop automatic renewal" in page_text(browser.get("/membership"))
    stripe_delivers.flush()
    assert kinds(membership) == ["joined", "auto_renew_off", "auto_renew_on"]
    assert len(mailbox.to(user.email)) == 2


# Stripe's event about the first change, arriving after the second was already recorded from
# Stripe's answer, describes the subscription as it was: payments applies it as it is now.
def test_stripes_late_events_about_a_stop_and_a_resume_change_nothing_more(
    frozen, app, subscription_plan, member, stripe_delivers, mailbox
):
    user, browser, membership = member(subscription_plan)
    press(browser, f"/membership/{membership.id}/auto-renew", renew="off")
    press(browser, f"/membership/{membership.id}/auto-renew", renew="on")
    mailbox.clear()

    stripe_delivers.flush()  # both of Stripe's events, after both changes

    assert kinds(membership) == ["joined", "auto_renew_off", "auto_renew_on"]
    assert fresh(membership).auto_renew is True
    assert mailbox.to(user.email) == []


def test_another_persons_membership_cannot_have_its_renewal_stopped(
    frozen, app, subscription_plan, member, stripe_delivers, mailbox
):
    _, _, theirs = member(subscription_plan)
    _, stranger, _ = member(subscription_plan)

    response = press(stranger, f"/membership/{theirs.id}/auto-renew", renew="off")

    assert response.status_code == 404
    assert stripe_delivers.requests_to("POST", "/v1/subscriptions/*") == []
    assert fresh(theirs).auto_renew is True


def test_automatic_renewal_is_stopped_in_the_members_language(
    frozen, app, subscription_plan, member, stripe_delivers, mailbox
):
    user, browser, membership = member(subscription_plan, language="ja")
    mailbox.clear()

    press(browser, f"/membership/{membership.id}/auto-renew", renew="off")

    message = mailbox.last_to(user.email)
    assert message["Content-Language"] == "ja"
    assert message["Subject"] == in_japanese(mail.SUBJECTS["auto_renew_off"])
    assert "2031年5月10日" in text_of(message)


# --- renewed by a payment each year --------------------------------------------------------------


def in_the_window(frozen, browser_of, user):
    """Move to 59 days before the end (inside the 60-day window): a new browser, signed in."""
    frozen.move_to(JOINED_ENDS - timedelta(days=59))
    return browser_of(user)


def test_renewing_is_offered_only_near_the_end(frozen, app, make_plan, member, browser_of, mailbox):
    user, browser, _ = member(make_plan())
    assert "Renew for another year" not in page_text(browser.get("/membership"))

    frozen.move_to(JOINED_ENDS - timedelta(days=61))
    assert "Renew for another year" not in page_text(browser_of(user).get("/membership"))
    frozen.move_to(JOINED_ENDS - timedelta(days=60))
    assert "Renew for another year" in page_text(browser_of(user).get("/membership"))


def test_renewing_a_one_off_membership_pays_at_stripe_and_extends_it_from_its_old_end(
    frozen, app, make_plan, member, browser_of, pay, stripe_delivers, mailbox
):
    plan = make_plan(price_minor=5000, name_en="Individual")
    user, _, membership = member(plan)
    browser = in_the_window(frozen, browser_of, user)
    mailbox.clear()

    response = press(browser, f"/membership/{membership.id}/renew", plan=plan.slug)

    assert response.status_code == 303, page_text(response)
    session = stripe_delivers.get(session_id_of(response.headers["Location"]))
    assert (session["mode"], session["amount_total"]) == ("payment", 5000)
    assert fresh(membership).ends_at == JOINED_ENDS  # not before Stripe's word
    pay(response.headers["Location"])

    membership = fresh(membership)
    assert membership.ends_at == datetime(2032, 5, 10, 10, 0, tzinfo=TOKYO)  # not from today
    assert (membership.status, membership.terms, membership.reminders_sent) == ("active", 2, 0)
    assert [(e.kind, e.amount_minor) for e in membership.history] == [
        ("joined", 5000),
        ("renewed", 5000),
    ]
    [message] = mailbox.to(user.email)
    assert message["Subject"] == "Your membership is renewed"
    assert "Your receipt (RCP-" in text_of(message)
    page = page_text(browser.get("/membership"))
    assert page.count("/receipts/") == 8  # two payments, each in two languages and two formats
    assert "Renew for another year" not in page


def test_a_second_payment_of_the_same_term_is_refunded_in_full_and_extends_nothing(
    frozen, app, make_plan, member, browser_of, pay, stripe_delivers, mailbox
):
    plan = make_plan(price_minor=5000, name_en="Individual")
    other = make_plan(price_minor=8000, name_en="Patron")
    user, _, membership = member(plan)
    browser = in_the_window(frozen, browser_of, user)
    # Two tabs: the same term's renewal opened on each plan, and both paid.
    first = press(browser, f"/membership/{membership.id}/renew", plan=plan.slug)
    second = press(browser, f"/membership/{membership.id}/renew", plan=other.slug)
    assert first.headers["Location"] != second.headers["Location"]

    pay(first.headers["Location"])
    pay(second.headers["Location"])

    refund = stripe_delivers.last_request("POST", "/v1/refunds")
    [second_intent] = [
        i["id"] for i in stripe_delivers.objects("payment_intent") if i["amount"] == 8000
    ]
    assert refund.params == {"payment_intent": second_intent, "amount": "8000"}
    stripe_delivers.flush()  # Stripe's charge.refunded
    membership = fresh(membership)
    assert membership.ends_at == datetime(2032, 5, 10, 10, 0, tzinfo=TOKYO)
    assert (membership.terms, membership.plan_id) == (2, plan.id)
    assert [(e.kind, e.amount_minor) for e in membership.history] == [
        ("joined", 5000),
        ("renewed", 5000),
        ("refunded", -8000),
    ]
    db.session.rollback()
    second_order = db.session.scalar(
        db.select(Order).where(Order.reference == f"{membership.id}.2.{other.id}")
    )
    assert (second_order.status, second_order.refunded_minor) == ("refunded", 8000)


def test_renewing_into_another_plan_changes_the_plan_and_its_price(
    frozen, app, make_plan, member, browser_of, pay, mailbox
):
    plan = make_plan(price_minor=5000, name_en="Individual")
    other = make_plan(price_minor=8000, name_en="Patron", benefits=("member_prices",))
    user, _, membership = member(plan)
    browser = in_the_window(frozen, browser_of, user)

    response = press(browser, f"/membership/{membership.id}/renew", plan=other.slug)
    pay(response.headers["Location"])

    membership = fresh(membership)
    assert (membership.plan_id, membership.price_minor) == (other.id, 8000)
    assert membership.ends_at == datetime(2032, 5, 10, 10, 0, tzinfo=TOKYO)
    assert kinds(membership) == ["joined", "plan_changed", "renewed"]
    assert has_benefit(user, "member_prices")
    assert not has_benefit(user, "members_only")  # the new plan does not give it
    assert "Patron" in page_text(browser.get("/membership"))


def test_a_free_plan_renews_with_a_click(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    plan = make_plan(price_minor=0, name_en="Community")
    user = make_user()
    join(browser_of(user), plan)
    membership = services.current_membership(user)
    browser = in_the_window(frozen, browser_of, user)
    mailbox.clear()

    response = press(browser, f"/membership/{membership.id}/renew", plan=plan.slug)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/membership")
    assert "Your membership is renewed for another year." in page_text(browser.get("/membership"))
    membership = fresh(membership)
    assert membership.ends_at == datetime(2032, 5, 10, 10, 0, tzinfo=TOKYO)
    assert [(e.kind, e.amount_minor) for e in membership.history] == [
        ("joined", 0),
        ("renewed", 0),
    ]
    assert stripe_delivers.requests == []
    [message] = mailbox.to(user.email)
    assert message["Subject"] == "Your membership is renewed"
    assert list(message.iter_attachments()) == []
    # Pressed again (a second tab): renewed already, nothing changes.
    again = press(browser, f"/membership/{membership.id}/renew", plan=plan.slug)
    assert again.status_code == 302
    assert fresh(membership).terms == 2


def test_renewing_in_the_grace_keeps_the_membership_unbroken(
    frozen, app, make_plan, member, browser_of, pay, mailbox
):
    plan = make_plan(price_minor=5000)
    user, _, membership = member(plan)
    frozen.move_to(JOINED_ENDS + timedelta(days=3))
    assert jobs.start_grace() == 1
    browser = browser_of(user)
    assert "Renew for another year" in page_text(browser.get("/membership"))

    response = press(browser, f"/membership/{membership.id}/renew", plan=plan.slug)
    pay(response.headers["Location"])

    membership = fresh(membership)
    assert membership.status == "active"
    assert membership.ends_at == datetime(2032, 5, 10, 10, 0, tzinfo=TOKYO)
    assert kinds(membership) == ["joined", "in_grace", "renewed"]


def test_renewing_is_refused_while_a_subscription_renews_itself(
    frozen, app, subscription_plan, make_plan, member, browser_of, stripe_delivers, mailbox
):
    one_off = make_plan(price_minor=5000)
    user, _, membership = member(subscription_plan)
    browser = in_the_window(frozen, browser_of, user)
    checkouts = len(stripe_delivers.requests_to("POST", "/v1/checkout/sessions"))

    response = press(browser, f"/membership/{membership.id}/renew", plan=one_off.slug)

    assert response.status_code == 302
    assert "This membership renews itself: there is nothing to do." in page_text(
        browser.get("/membership")
    )
    assert len(stripe_delivers.requests_to("POST", "/v1/checkout/sessions")) == checkouts
    assert fresh(membership).terms == 1
