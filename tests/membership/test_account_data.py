"""What membership keeps about a person, in their account's export and deletion: the export
lists their memberships and history; deleting the account ends a membership it holds, and a
subscription's renewal is stopped at Stripe once the deletion is committed."""

from __future__ import annotations

import json

from community.membership import services
from tests.conftest import PASSWORD, submit
from tests.membership.conftest import fresh, kinds


def test_the_account_export_lists_memberships_and_their_history(app, make_plan, member):
    plan = make_plan(name_en="Individual", name_ja="個人")
    _user, browser, _membership = member(plan)
    response = browser.get("/account/export.json")
    assert response.status_code == 200
    data = json.loads(response.get_data(as_text=True))
    (held,) = data["memberships"]
    assert held["plan_en"] == "Individual" and held["plan_ja"] == "個人"
    assert held["status"] == "active"
    assert held["ends_at"]
    assert [step["what"] for step in held["history"]] == ["joined"]
    assert held["history"][0]["amount_minor"] == 5000


def _delete(browser):
    return submit(
        browser, "/account/delete", {"password": PASSWORD, "confirm": "y"}, post_path=None
    )


def test_deleting_the_account_ends_its_membership_and_benefits(app, make_plan, member):
    user, browser, membership = member(make_plan())
    assert _delete(browser).status_code == 302
    assert fresh(membership).status == "cancelled"
    assert kinds(membership) == ["joined", "cancelled"]
    assert services.current_membership(user) is None


def test_deleting_the_account_stops_its_subscription_renewing_at_stripe(
    app, make_plan, member, stripe_delivers
):
    plan = make_plan(renewal="subscription", price_minor=6000)
    _user, browser, membership = member(plan)
    subscription_id = stripe_delivers.objects("subscription")[0]["id"]
    assert _delete(browser).status_code == 302
    asked = stripe_delivers.requests_to("POST", f"/v1/subscriptions/{subscription_id}")
    assert [request.params.get("cancel_at_period_end") for request in asked] == ["true"]
    assert fresh(membership).status == "cancelled"
    assert stripe_delivers.get(subscription_id)["cancel_at_period_end"] is True
