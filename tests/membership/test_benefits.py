"""Membership's benefits in events: member prices and members-only tickets go to a signed-in
member, are refused to others with a way to join, and are asked again when the payment is made
(a membership that ended in between changes the price, and the person is told before paying)."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from community.core.db import db, utcnow
from community.core.transaction import write_transaction
from community.events.models import Registration
from community.events.services import TicketTypeData, manage_token
from community.membership import services
from tests.conftest import csrf_token_from, submit
from tests.membership.conftest import join

MEMBER_TICKETS = [
    TicketTypeData(slug="standard", name_en="Standard", price_minor=3000, member_price_minor=2000),
    TicketTypeData(slug="members", name_en="Members' seat", price_minor=1000, members_only=True),
]


def _register(browser, event, user, ticket: str):
    path = f"/events/{event.slug}"
    return submit(
        browser,
        path,
        {"name": user.name, "email": user.email, "ticket_type": ticket},
        post_path=path + "/register",
    )


def _registration(event, email) -> Registration:
    db.session.rollback()
    return db.session.scalar(
        db.select(Registration).where(
            Registration.event_id == event.id, Registration.email == email
        )
    )


def _checkout_amounts(fake_stripe) -> list[int]:
    return [
        int(request.params["line_items"][0]["price_data"]["unit_amount"])
        for request in fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    ]


def _member(make_plan, make_user, browser_of, **plan_fields):
    plan = make_plan(price_minor=0, **plan_fields)
    user = make_user()
    browser = browser_of(user)
    assert join(browser, plan).status_code == 302
    return user, browser


def test_a_signed_in_member_pays_the_member_price_and_stripe_is_asked_for_it(
    app, make_plan, make_user, browser_of, make_event, fake_stripe
):
    user, browser = _member(make_plan, make_user, browser_of)
    event = make_event(tickets=MEMBER_TICKETS)
    response = _register(browser, event, user, "standard")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert _registration(event, user.email).price_minor == 2000
    assert _checkout_amounts(fake_stripe) == [2000]


def test_the_same_address_typed_by_a_guest_gets_the_full_price(
    app, make_plan, make_user, browser_of, client, make_event, fake_stripe
):
    user, _ = _member(make_plan, make_user, browser_of)
    event = make_event(tickets=MEMBER_TICKETS)
    response = _register(client, event, user, "standard")
    assert response.status_code == 303
    assert _registration(event, user.email).price_minor == 3000
    assert _checkout_amounts(fake_stripe) == [3000]


def test_a_plan_without_member_prices_gives_none(
    app, make_plan, make_user, browser_of, make_event, fake_stripe
):
    user, browser = _member(make_plan, make_user, browser_of, benefits=("members_only",))
    event = make_event(tickets=MEMBER_TICKETS)
    _register(browser, event, user, "standard")
    assert _registration(event, user.email).price_minor == 3000


def test_a_members_only_ticket_is_refused_to_a_non_member_with_a_link_to_join(
    app, make_user, browser_of, make_event
):
    user = make_user()
    browser = browser_of(user)
    event = make_event(tickets=MEMBER_TICKETS)
    response = _register(browser, event, user, "members")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This ticket is for members only." in page
    assert "/join" in page
    assert _registration(event, user.email) is None


def test_the_refusal_is_in_japanese_for_a_japanese_reader(app, make_user, browser_of, make_event):
    user = make_user(locale="ja")
    browser = browser_of(user, language="ja")
    event = make_event(tickets=MEMBER_TICKETS)
    page = _register(browser, event, user, "members").get_data(as_text=True)
    assert "メンバー限定" in page
    assert "This ticket is for members only" not in page


def test_a_members_only_ticket_goes_to_a_member(app, make_plan, make_user, browser_of, make_event):
    user, browser = _member(make_plan, make_user, browser_of)
    event = make_event(tickets=MEMBER_TICKETS)
    assert _register(browser, event, user, "members").status_code == 303
    assert _registration(event, user.email).status == "awaiting_payment"


def test_the_api_refuses_a_members_only_ticket_to_a_non_member_naming_the_field(
    app, client, make_plan, make_user, browser_of, make_event
):
    user, _ = _member(make_plan, make_user, browser_of)  # a member, but the API is anonymous
    event = make_event(tickets=MEMBER_TICKETS)
    response = client.post(
        f"/api/v1/events/{event.slug}/registrations",
        json={"name": user.name, "email": user.email, "ticket_type": "members"},
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "ticket_type" in error["fields"]
    assert "/join" in error["fields"]["ticket_type"]
    assert _registration(event, user.email) is None


def test_the_api_charges_a_non_member_the_full_price(app, client, make_event, fake_stripe):
    event = make_event(tickets=MEMBER_TICKETS)
    response = client.post(
        f"/api/v1/events/{event.slug}/registrations",
        json={"name": "Guest", "email": "guest@example.com", "ticket_type": "standard"},
    )
    assert response.status_code == 201
    assert _registration(event, "guest@example.com").price_minor == 3000


def _manage_path(registration) -> str:
    return f"/registrations/{registration.id}/{manage_token(registration)}"


def _press_pay(browser, registration):
    path = _manage_path(registration)
    token = csrf_token_from(browser.get(path).get_data(as_text=True))
    return browser.post(path + "/pay", data={"csrf_token": token})


def _keep_hold_open(registration) -> None:
    """As if the person had just been offered the place. Written as a writer (the unit of work:
    on SQLite it ends the test's read transaction and takes the write lock, waiting for the
    registration's e-mail, which is sent after the answer, to be recorded)."""
    with write_transaction():
        held = db.session.get(Registration, registration.id)
        held.hold_expires_at = utcnow() + timedelta(minutes=30)


def _lapse(user):
    """The membership's grace ends (as if a year and the grace went by): no longer a member."""
    membership = services.current_membership(user)
    return membership.grace_ends_at + timedelta(minutes=1)


def test_a_membership_that_ended_before_paying_changes_the_price_and_says_so(
    app, make_plan, make_user, browser_of, make_event, fake_stripe
):
    user, browser = _member(make_plan, make_user, browser_of)
    # The event is after the membership's end, so that registering is still open then.
    event = make_event(tickets=MEMBER_TICKETS, days=420, capacity=5)
    _register(browser, event, user, "standard")
    registration = _registration(event, user.email)
    assert registration.price_minor == 2000
    first_session = fake_stripe.sessions()[-1]["id"]
    with time_machine.travel(_lapse(user), tick=False):
        # The hold is kept open meanwhile, as if the person had just been offered the place.
        _keep_hold_open(registration)
        response = _press_pay(browser, registration)
        assert response.status_code == 302  # back to the manage page, not to Stripe
        page = browser.get(response.headers["Location"]).get_data(as_text=True)
        assert "now ¥3,000 instead of ¥2,000" in page
        assert _registration(event, user.email).price_minor == 3000
        # The checkout opened at the member price can no longer be paid.
        assert fake_stripe.get(first_session)["status"] == "expired"
        again = _press_pay(browser, registration)
        assert again.status_code == 303
    assert _checkout_amounts(fake_stripe) == [2000, 3000]


def test_a_members_only_ticket_is_not_paid_once_the_membership_has_ended(
    app, make_plan, make_user, browser_of, make_event, fake_stripe
):
    user, browser = _member(make_plan, make_user, browser_of)
    event = make_event(tickets=MEMBER_TICKETS, days=420, capacity=5)
    _register(browser, event, user, "members")
    registration = _registration(event, user.email)
    with time_machine.travel(_lapse(user), tick=False):
        _keep_hold_open(registration)
        response = _press_pay(browser, registration)
        assert response.status_code == 302
        page = browser.get(response.headers["Location"]).get_data(as_text=True)
        assert re.search(r"members only, and your membership has ended", page)
        assert "/join" in page
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1
    assert _registration(event, user.email).status == "awaiting_payment"
