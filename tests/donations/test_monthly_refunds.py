"""Refunds of a monthly gift's payments, each on its own: a later month refunded from the order's
page (the form asks which payment) or in Stripe's dashboard lowers that month's payment, the
campaign's total and its match, and leaves the first month and the order as they were; the first
month is refunded through the invoice its checkout paid; a month recorded while Stripe could not
name its payment intent is found through its invoice all the same; and a refund beyond a month's
amount, of another order's payment or of something that is not a payment is refused with a clear
message, changing nothing. Through the real pages, the real Stripe SDK and the fake Stripe."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.core.db import db
from community.core.errors import DomainError
from community.donations import services
from community.donations.models import Campaign
from community.payments import services as payments
from community.payments.models import Order, Payment, Refund
from tests.conftest import csrf_token_from
from tests.donations.conftest import (
    fresh,
    gift_of,
    give,
    mails_to,
    order_of,
    page_text,
    payments_of,
)
from tests.donations.test_campaigns import on_both_pages
from tests.donations.test_monthly import notices_of

DONOR = "mina@example.com"


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", email="admin@example.com", name="Ada Admin")


@pytest.fixture
def two_months(browser, make_campaign, pay, renew, stripe_delivers, mailbox):
    """A campaign matched up to ¥10,000 and a monthly gift of ¥3,000 to it, paid for two months:
    (campaign, gift, the first month's ledger payment, the second's)."""
    campaign = make_campaign(slug="venue", match_partner_name="Acme KK", match_cap_minor=10_000)
    response = give(browser(), campaign="venue", kind="monthly", other_amount="3000", email=DONOR)
    assert response.status_code == 303, page_text(response)
    pay(response)
    gift = fresh(gift_of(DONOR))
    assert all(delivery.status == 200 for delivery in renew(gift))
    mails_to(mailbox, DONOR, 2)
    first, second = ledger_payments(gift)
    return campaign, gift, first, second


def ledger_payments(gift) -> list[Payment]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Payment)
            .where(Payment.order_id == fresh(gift).order_id, Payment.status == "paid")
            .order_by(Payment.id)
        )
    )


def progress_of(campaign) -> tuple[int, int]:
    db.session.rollback()
    shown = services.progress(db.session.get(Campaign, campaign.id))
    return shown.raised_minor, shown.matched_minor


def test_each_month_is_paid_by_a_payment_intent_of_its_own(two_months, fake_stripe):
    _campaign, _gift, first, second = two_months

    assert first.kind == "checkout" and second.kind == "renewal"
    assert first.invoice_id and second.invoice_id and first.invoice_id != second.invoice_id
    # Read through Stripe's invoice payments, the only link since API version 2025-03-31.
    assert first.payment_intent_id == fake_stripe.payment_intent_of_invoice(first.invoice_id)
    assert second.payment_intent_id == fake_stripe.payment_intent_of_invoice(second.invoice_id)


def test_a_later_months_refund_on_the_orders_page_lowers_the_campaign_and_its_match(
    two_months, browser_of, admin, stripe_delivers, fake_stripe, mailbox
):
    campaign, gift, first, second = two_months
    assert progress_of(campaign) == (6000, 6000)
    client = browser_of(admin)
    order_id = fresh(gift).order_id
    page = page_text(client.get(f"/organiser/orders/{order_id}"))
    # Both months can be refunded, each on its own.
    assert "Each payment of this subscription is refunded on its own: choose which." in page
    assert f'<option value="{first.id}"' in page and f'<option value="{second.id}"' in page

    response = client.post(
        f"/organiser/orders/{order_id}/refund",
        data={"csrf_token": csrf_token_from(page), "amount": "3,000", "payment": str(second.id)},
    )

    assert response.status_code == 302
    assert all(delivery.status == 200 for delivery in stripe_delivers.flush())
    asked = fake_stripe.last_request("POST", "/v1/refunds").params
    assert asked["payment_intent"] == second.payment_intent_id
    assert [(row.amount_minor, row.refunded_minor) for row in payments_of(gift)] == [
        (3000, 0),
        (3000, 3000),
    ]
    assert progress_of(campaign) == (3000, 3000)
    shown = on_both_pages(browser_of(admin), campaign)
    assert (shown["total"], shown["matched"]) == ("¥6,000", "¥3,000")
    # The order (its first month) is as it was; the refund names the month it gave back.
    db.session.rollback()
    order = db.session.get(Order, order_id)
    assert (order.status, order.refunded_minor) == ("paid", 0)
    [refund] = db.session.scalars(select(Refund).where(Refund.order_id == order_id)).all()
    assert (refund.payment_id, refund.status, refund.amount_minor) == (second.id, "succeeded", 3000)
    assert db.session.get(Payment, second.id).refunded_minor == 3000
    # The donor hears of it once; the month refunded in full is nothing left to refund, so
    # the form refunds the first month, the only one left.
    assert notices_of(gift).count("refunded") == 1
    page = page_text(client.get(f"/organiser/orders/{order_id}"))
    assert "<option" not in page
    assert "Up to ¥3,000 can still be refunded." in page


def test_a_later_months_refund_in_stripes_dashboard_lowers_the_totals_once(
    two_months, stripe_delivers, fake_stripe, mailbox
):
    campaign, gift, _first, second = two_months

    [refunded] = stripe_delivers.refund_from_dashboard(second.payment_intent_id, amount=1000)
    stripe_delivers.deliver(refunded, times=2)

    assert refunded.status == 200
    assert [row.refunded_minor for row in payments_of(gift)] == [0, 1000]
    assert progress_of(campaign) == (5000, 5000)
    db.session.rollback()
    [refund] = db.session.scalars(select(Refund)).all()
    assert (refund.payment_id, refund.amount_minor, refund.reason) == (
        second.id,
        1000,
        "refunded at the payment provider",
    )
    assert db.session.get(Order, second.order_id).status == "paid"
    assert notices_of(gift).count("refunded") == 1


def test_the_first_month_is_refunded_through_the_invoice_its_checkout_paid(
    two_months, stripe_delivers, fake_stripe, mailbox
):
    campaign, gift, first, _second = two_months

    payments.refund_order(order_of(gift), 2000)
    stripe_delivers.flush()

    assert fake_stripe.last_request("POST", "/v1/refunds").params["payment_intent"] == (
        first.payment_intent_id
    )
    assert [row.refunded_minor for row in payments_of(gift)] == [2000, 0]
    assert progress_of(campaign) == (4000, 4000)
    db.session.rollback()
    order = db.session.get(Order, first.order_id)
    assert (order.status, order.refunded_minor) == ("partially_refunded", 2000)


def test_a_month_recorded_while_stripe_could_not_name_its_intent_is_refunded_all_the_same(
    two_months, renew, stripe_delivers, fake_stripe, mailbox
):
    campaign, gift, _first, _second = two_months
    # The third month: Stripe does not answer when asked which payment intent paid it.
    fake_stripe.fail_next("GET", "/v1/invoice_payments", status=400)
    assert all(delivery.status == 200 for delivery in renew(gift))
    *_, third = ledger_payments(gift)
    assert (third.kind, third.payment_intent_id) == ("renewal", None)
    assert progress_of(campaign) == (9000, 9000)

    # In Stripe's dashboard: the charge is found through the invoice it paid.
    intent = fake_stripe.payment_intent_of_invoice(third.invoice_id)
    [refunded] = stripe_delivers.refund_from_dashboard(intent, amount=1000)
    assert refunded.status == 200
    assert [row.refunded_minor for row in payments_of(gift)] == [0, 0, 1000]
    db.session.rollback()
    assert db.session.get(Payment, third.id).payment_intent_id == intent

    # And through the app, for the rest of that month.
    payments.refund_order(order_of(gift), payment_id=third.id)
    stripe_delivers.flush()
    assert [row.refunded_minor for row in payments_of(gift)] == [0, 0, 3000]
    assert progress_of(campaign) == (6000, 6000)


def test_a_renewal_without_its_intent_is_refunded_by_asking_for_it(
    two_months, renew, stripe_delivers, fake_stripe, mailbox
):
    campaign, gift, _first, _second = two_months
    fake_stripe.fail_next("GET", "/v1/invoice_payments", status=400)
    renew(gift)
    *_, third = ledger_payments(gift)
    assert third.payment_intent_id is None

    payments.refund_order(order_of(gift), 3000, payment_id=third.id)
    stripe_delivers.flush()

    db.session.rollback()
    stored = db.session.get(Payment, third.id)
    assert stored.payment_intent_id == fake_stripe.payment_intent_of_invoice(third.invoice_id)
    assert stored.refunded_minor == 3000
    assert progress_of(campaign) == (6000, 6000)


def test_a_refund_beyond_a_month_or_of_another_orders_payment_is_refused(
    two_months, browser, browser_of, admin, make_user, pay, stripe_delivers, fake_stripe, mailbox
):
    campaign, gift, _first, second = two_months
    pay(give(browser(), kind="one_off", other_amount="5000", email="other@example.com"))
    [others] = ledger_payments(gift_of("other@example.com"))
    order = order_of(gift)
    refunds_asked = len(fake_stripe.requests_to("POST", "/v1/refunds"))

    with pytest.raises(DomainError) as beyond:
        payments.refund_order(order, 3001, payment_id=second.id)
    with pytest.raises(DomainError) as not_its:
        payments.refund_order(order, 1000, payment_id=others.id)

    assert str(beyond.value.message) == "Give an amount above zero and at most ¥3,000."
    assert str(not_its.value.message) == "This order has no such payment to refund."

    # Through the page: each refusal said on it, in the admin's language.
    client = browser_of(admin)
    path = f"/organiser/orders/{order.id}"
    for payment, expected in (
        ("99999999999999999999", "This order has no such payment to refund."),
        ("-1", "This order has no such payment to refund."),
        (str(others.id), "This order has no such payment to refund."),
        (str(second.id), "Give an amount above zero and at most ¥3,000."),
    ):
        token = csrf_token_from(page_text(client.get(path)))
        response = client.post(
            f"{path}/refund", data={"csrf_token": token, "amount": "3500", "payment": payment}
        )
        assert response.status_code == 302
        assert expected in page_text(client.get(path))
    kanri = make_user(role="admin", email="kanri@example.com", locale="ja")
    client_ja = browser_of(kanri, language="ja")
    token = csrf_token_from(page_text(client_ja.get(path)))
    client_ja.post(
        f"{path}/refund", data={"csrf_token": token, "amount": "100", "payment": str(others.id)}
    )
    assert "この注文には、返金できるその支払いがありません。" in page_text(client_ja.get(path))

    assert len(fake_stripe.requests_to("POST", "/v1/refunds")) == refunds_asked
    db.session.rollback()
    assert db.session.scalars(select(Refund)).all() == []
    assert progress_of(campaign) == (6000, 6000)
