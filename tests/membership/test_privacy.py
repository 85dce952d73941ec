"""A member's personal data: the account's export includes their memberships and each one's
history; deleting the account ends a membership it holds (cancelled, or abandoned when unpaid),
keeps its history, sends it no e-mail, and for a subscription asks Stripe to stop its renewal once
the deletion is committed (a Stripe that does not answer never undoes the deletion)."""

from __future__ import annotations

import json

from community.accounts.membership import is_member
from community.accounts.models import User
from community.core.db import db
from community.membership import services
from tests.conftest import PASSWORD, submit
from tests.membership.conftest import fresh, join, kinds, subscription_id_of


def delete_account(browser):
    response = submit(browser, "/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def fresh_user(user) -> User:
    db.session.rollback()
    return db.session.get(User, user.id, populate_existing=True)


def test_the_data_export_includes_memberships_and_their_history(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    plan = make_plan(name_ja="個人会員", name_en="Individual", price_minor=5000)
    _user, browser, membership = member(plan)
    [intent] = stripe_delivers.objects("payment_intent")
    stripe_delivers.refund_from_dashboard(intent["id"], amount=1000)

    response = browser.get("/account/export.json")

    assert response.status_code == 200
    data = json.loads(response.get_data(as_text=True))
    [exported] = data["memberships"]
    assert exported["plan_ja"] == "個人会員"
    assert exported["plan_en"] == "Individual"
    assert exported["status"] == "active"
    assert exported["auto_renew"] is False
    assert exported["starts_at"] == fresh(membership).starts_at.isoformat()
    assert exported["ends_at"] == fresh(membership).ends_at.isoformat()
    assert [(e["what"], e["amount_minor"], e["currency"]) for e in exported["history"]] == [
        ("joined", 5000, "JPY"),
        ("refunded", -1000, "JPY"),
    ]


def test_the_data_export_lists_ended_memberships_too(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    _user, browser, first = member(make_plan(renewal="subscription", price_minor=6000))
    stripe_delivers.cancel_subscription(subscription_id_of(first))
    join(browser, make_plan(price_minor=0))

    data = json.loads(browser.get("/account/export.json").get_data(as_text=True))

    assert [m["status"] for m in data["memberships"]] == ["cancelled", "active"]
    assert [e["what"] for e in data["memberships"][0]["history"]] == ["joined", "cancelled"]


def test_a_person_without_a_membership_exports_an_empty_list(app, make_user, browser_of):
    browser = browser_of(make_user())

    data = json.loads(browser.get("/account/export.json").get_data(as_text=True))

    assert data["memberships"] == []


def test_deleting_the_account_cancels_its_membership_and_keeps_the_history(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    user, browser, membership = member(make_plan(price_minor=5000))
    mailbox.clear()

    delete_account(browser)

    membership = fresh(membership)
    assert membership.status == "cancelled"
    assert membership.ended_at is not None
    assert kinds(membership) == ["joined", "cancelled"]
    assert fresh_user(user).deleted_at is not None
    assert not is_member(fresh_user(user))
    assert mailbox.messages == []  # nobody to write to any more
    assert stripe_delivers.requests_to("POST", "/v1/subscriptions/*") == []


def test_deleting_the_account_abandons_an_unpaid_join(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    user = make_user()
    browser = browser_of(user)
    join(browser, make_plan())
    membership = services.current_membership(user)

    delete_account(browser)

    assert fresh(membership).status == "abandoned"
    assert kinds(membership) == ["abandoned"]


def test_deleting_the_account_asks_stripe_to_stop_its_subscription_after_the_commit(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    _user, browser, membership = member(make_plan(renewal="subscription", price_minor=6000))
    subscription_id = subscription_id_of(membership)
    mailbox.clear()

    delete_account(browser)

    asked = stripe_delivers.last_request("POST", f"/v1/subscriptions/{subscription_id}")
    assert asked.params == {"cancel_at_period_end": "true"}
    assert stripe_delivers.get(subscription_id)["cancel_at_period_end"] is True
    membership = fresh(membership)
    assert (membership.status, membership.auto_renew) == ("cancelled", False)
    assert kinds(membership) == ["joined", "cancelled"]
    # Stripe's own word on it later changes nothing, and a renewal Stripe would still charge
    # by mistake does not bring the membership back.
    stripe_delivers.flush()
    stripe_delivers.renew_subscription(subscription_id)
    assert fresh(membership).status == "cancelled"
    assert kinds(membership) == ["joined", "cancelled"]
    assert mailbox.messages == []


def test_a_stripe_that_does_not_answer_never_undoes_the_deletion(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    user, browser, membership = member(make_plan(renewal="subscription", price_minor=6000))
    stripe_delivers.fail_next("POST", "/v1/subscriptions/*", times=10)

    delete_account(browser)

    assert stripe_delivers.requests_to("POST", "/v1/subscriptions/*")  # asked, after the commit
    assert fresh_user(user).deleted_at is not None
    assert fresh(membership).status == "cancelled"
