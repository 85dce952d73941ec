"""A donor's personal data: the account's export lists the gifts made while signed in (with each
one's payments and refunds); deleting the account keeps the gifts' money (the ledger, the
campaigns' totals) but takes the person off them — no name, message or address, anonymous on
the wall, no more e-mail — and stops a monthly gift at Stripe once the deletion is committed.
Gifts made from the same address without the account are the address's: they stay as they
were."""

from __future__ import annotations

import json

from community.accounts.models import User
from community.core.db import db
from community.payments import services as payments
from tests.conftest import PASSWORD, submit
from tests.donations.conftest import (
    fresh,
    gift_of,
    give,
    manage_url_of,
    order_of,
    page_text,
    payments_of,
    subscription_id_of,
)
from tests.donations.test_campaigns import on_both_pages
from tests.donations.test_wall import walls


def export_of(browser) -> dict:
    response = browser.get("/account/export.json")
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))


def delete_account(browser):
    response = submit(browser, "/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def fresh_user(user) -> User:
    db.session.rollback()
    return db.session.get(User, user.id, populate_existing=True)


def test_the_data_export_includes_the_gifts_made_while_signed_in(
    app, make_user, browser_of, browser, make_campaign, pay, stripe_delivers, mailbox
):
    user = make_user(email="member@example.com")
    signed_in = browser_of(user)
    campaign = make_campaign(name_ja="新会場", name_en="New Venue")
    pay(
        give(
            signed_in,
            campaign=campaign.slug,
            other_amount="8000",
            wall="name_amount",
            donor_name="Mika",
            message="For the chairs",
        )
    )
    payments.refund_order(order_of(gift_of("member@example.com")), 1000)
    stripe_delivers.flush()
    pay(give(signed_in, kind="monthly", other_amount="2000"))
    # Without the account, from the same address: not the account's.
    pay(give(browser(), other_amount="7777", email="member@example.com"))

    data = export_of(signed_in)

    one_off, monthly = data["donations"]
    assert {key: one_off[key] for key in one_off if key not in ("created_at", "payments")} == {
        "kind": "one_off",
        "status": "paid",
        "amount_minor": 8000,
        "currency": "JPY",
        "campaign_ja": "新会場",
        "campaign_en": "New Venue",
        "email": "member@example.com",
        "name_on_wall": "Mika",
        "wall": "name_amount",
        "message": "For the chairs",
    }
    assert [
        (p["amount_minor"], p["refunded_minor"], p["currency"]) for p in one_off["payments"]
    ] == [(8000, 1000, "JPY")]
    assert (monthly["kind"], monthly["status"], monthly["amount_minor"]) == (
        "monthly",
        "active",
        2000,
    )
    assert (monthly["campaign_en"], monthly["wall"]) == (None, "anonymous")
    assert len(monthly["payments"]) == 1
    assert "7777" not in json.dumps(data)


def test_a_person_who_never_gave_exports_no_gifts(app, make_user, browser_of):
    assert export_of(browser_of(make_user()))["donations"] == []


def test_deleting_the_account_takes_the_person_off_their_gifts_and_keeps_the_money(
    app, make_user, browser_of, browser, make_campaign, pay, mailbox
):
    user = make_user(email="leaving@example.com")
    signed_in = browser_of(user)
    campaign = make_campaign(match_partner_name="Acme", match_cap_minor=10_000)
    pay(
        give(
            signed_in,
            campaign=campaign.slug,
            other_amount="6000",
            wall="name_amount",
            donor_name="Leaving Person",
            message="My phone is 090-1111-2222",
        )
    )
    gift = gift_of("leaving@example.com")
    progress = on_both_pages(browser(), campaign)
    assert walls(browser(), campaign) == [("Leaving Person", "¥6,000")]
    mailbox.clear()

    delete_account(signed_in)

    gift = fresh(gift)
    assert gift.user_id is None
    assert (gift.donor_name, gift.message, gift.wall) == ("", "", "anonymous")
    assert gift.email == gift.email_key == f"deleted-gift-{gift.id}@invalid"
    assert "leaving" not in gift.donor_key
    # The money stays given: its payment, its status and the campaign's progress.
    assert gift.status == "paid"
    assert [(p.amount_minor, p.counted_campaign_id) for p in payments_of(gift)] == [
        (6000, campaign.id)
    ]
    assert on_both_pages(browser(), campaign) == progress
    assert walls(browser(), campaign) == [("Anonymous", None)]
    for path in ("/donate", f"/donate/campaigns/{campaign.slug}"):
        page = page_text(browser().get(path))
        assert "Leaving Person" not in page and "leaving@example.com" not in page
    assert fresh_user(user).deleted_at is not None
    assert mailbox.messages == []


def test_deleting_the_account_leaves_the_addresss_own_gifts_as_they_were(
    app, make_user, browser_of, browser, pay, mailbox
):
    user = make_user(email="both@example.com")
    signed_in = browser_of(user)
    pay(give(signed_in, other_amount="3000", wall="name", donor_name="Signed In"))
    pay(
        give(
            browser(),
            other_amount="4000",
            email="both@example.com",
            wall="name",
            donor_name="Without Account",
            message="kept",
        )
    )
    kept = gift_of("both@example.com")

    delete_account(signed_in)

    kept = fresh(kept)
    assert (kept.user_id, kept.email, kept.donor_name, kept.message, kept.wall) == (
        None,
        "both@example.com",
        "Without Account",
        "kept",
        "name",
    )
    assert walls(browser()) == [("Without Account", None), ("Anonymous", None)]


def test_deleting_the_account_stops_its_monthly_gift_at_stripe_after_the_commit(
    app, make_user, browser_of, pay, renew, stripe_delivers, mailbox
):
    user = make_user(email="monthly@example.com")
    signed_in = browser_of(user)
    pay(give(signed_in, kind="monthly", other_amount="2500", wall="name", donor_name="Mo"))
    gift = gift_of("monthly@example.com")
    subscription_id = subscription_id_of(gift)
    mailbox.clear()

    delete_account(signed_in)

    assert stripe_delivers.requests_to("DELETE", f"/v1/subscriptions/{subscription_id}")
    assert stripe_delivers.get(subscription_id)["status"] == "canceled"
    assert fresh(gift).cancel_requested_at is not None
    stripe_delivers.flush()  # Stripe's word that it ended
    gift = fresh(gift)
    assert (gift.status, gift.user_id, gift.donor_name) == ("cancelled", None, "")
    assert [p.amount_minor for p in payments_of(gift)] == [2500]  # what was given stays given
    assert mailbox.messages == []  # nobody to write to any more
    assert fresh_user(user).deleted_at is not None


def test_a_stripe_that_does_not_answer_never_undoes_the_deletion(
    app, make_user, browser_of, pay, stripe_delivers, mailbox
):
    user = make_user(email="monthly@example.com")
    signed_in = browser_of(user)
    pay(give(signed_in, kind="monthly", other_amount="2500", wall="name", donor_name="Mo"))
    gift = gift_of("monthly@example.com")
    stripe_delivers.fail_next("DELETE", "/v1/subscriptions/*", times=10)

    delete_account(signed_in)

    assert stripe_delivers.requests_to("DELETE", "/v1/subscriptions/*")  # asked, after the commit
    assert fresh_user(user).deleted_at is not None
    gift = fresh(gift)
    assert (gift.user_id, gift.donor_name, gift.wall) == (None, "", "anonymous")
    assert gift.cancel_requested_at is not None


def test_a_deleted_donors_old_address_gets_no_statement_and_the_gift_no_mail(
    frozen, app, make_user, browser_of, browser, pay, mailbox
):
    from tests.donations.test_statement import ask_for_statement

    user = make_user(email="gone@example.com")
    signed_in = browser_of(user)
    pay(give(signed_in, other_amount="5000"))
    gift = gift_of("gone@example.com")
    delete_account(signed_in)
    mailbox.clear()

    answer = ask_for_statement(browser(), "gone@example.com", fresh(gift).confirmed_at.year)

    assert answer.status_code == 302
    assert mailbox.messages == []
    # The private link still opens the gift (its money is kept), without the person on it.
    page = page_text(browser().get(manage_url_of(gift)))
    assert "gone@example.com" not in page
