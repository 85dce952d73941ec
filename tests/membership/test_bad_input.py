"""Bad input to the membership pages gets a clear message in the reader's language (or a plain
404 / 400) and changes nothing; it never gets a 500: a retired plan, joining twice (one after the
other, and at the same moment), paying for a plan while a membership is held, another person's
membership id on every button and receipt, plans and ids that do not exist, huge ids, and NUL
bytes or odd Unicode in the address and in the forms."""

from __future__ import annotations

import threading

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from community.accounts.models import User
from community.core.db import db
from community.core.errors import Conflict
from community.membership import services
from community.membership.models import Membership, MembershipEvent
from community.payments.models import Order, Payment
from tests.conftest import csrf_token_from, post_together
from tests.membership.conftest import fresh, in_japanese, join, page_text, session_id_of

HUGE = "99999999999999999999"
ODD_SLUGS = [
    "%00",
    "plan-1%00",
    "%00plan-1",
    "%E2%80%AEplan-1",  # a right-to-left override
    "%EF%BC%B0%EF%BC%AC%EF%BC%A1%EF%BC%AE-1",  # full-width letters
    "%F0%9F%98%80",  # an emoji
    "%C0%AF",  # not UTF-8 at all
    "plan%2F1",
    "PLAN-1",
    "a" * 500,
]
ODD_VALUES = ["\x00", "plan-1\x00", "\u202eplan-1", "ＰＬＡＮ-1", "😀", "a" * 5000, ""]


def state() -> tuple:
    """What a refused request must leave as it was."""
    db.session.rollback()
    return (
        tuple(
            db.session.execute(
                select(
                    Membership.id,
                    Membership.status,
                    Membership.plan_id,
                    Membership.ends_at,
                    Membership.auto_renew,
                    Membership.terms,
                ).order_by(Membership.id)
            )
        ),
        db.session.scalar(select(func.count()).select_from(MembershipEvent)),
        tuple(db.session.execute(select(Order.id, Order.status).order_by(Order.id))),
        db.session.scalar(select(func.count()).select_from(Payment)),
    )


def token_of(browser, path: str = "/membership") -> str:
    return csrf_token_from(browser.get(path).get_data(as_text=True))


def flashed_on(browser) -> str:
    return page_text(browser.get("/membership"))


# --- a retired plan ------------------------------------------------------------------------------


def test_a_retired_plan_cannot_be_joined_and_says_so(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    plan = make_plan(name_en="Old plan")
    services.set_plan_status(plan.id, "retired")
    user = make_user()
    browser = browser_of(user)
    page = page_text(browser.get(f"/join/{plan.slug}"))
    assert "This plan is no longer offered. Choose another plan." in page
    assert "Pay ¥5,000 and become a member" not in page
    assert "Old plan" not in page_text(browser.get("/join"))
    before = state()

    response = browser.post(f"/join/{plan.slug}", data={"csrf_token": token_of(browser)})

    assert response.status_code == 422
    assert "This plan is no longer offered. Choose another plan." in page_text(response)
    assert state() == before
    assert stripe_delivers.requests == []
    assert mailbox.to(user.email) == []


def test_a_retired_plan_is_refused_in_japanese_for_a_japanese_reader(
    frozen, app, make_plan, make_user, browser_of
):
    plan = make_plan()
    services.set_plan_status(plan.id, "retired")
    browser = browser_of(make_user(locale="ja"), "ja")

    response = browser.post(f"/join/{plan.slug}", data={"csrf_token": token_of(browser)})

    assert response.status_code == 422
    page = page_text(response)
    assert '<html lang="ja">' in page
    assert in_japanese(services.RETIRED) in page


# --- joining twice -------------------------------------------------------------------------------


def test_joining_again_while_a_member_names_the_current_plan_and_changes_nothing(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    plan = make_plan(name_en="Individual")
    other = make_plan(name_en="Patron", price_minor=8000)
    user, browser, _membership = member(plan)
    checkouts = len(stripe_delivers.requests_to("POST", "/v1/checkout/sessions"))
    mailbox.clear()
    before = state()

    for target in (plan, other):
        response = join(browser, target)

        assert response.status_code == 409
        page = page_text(response)
        assert "You are already a member (Individual, until 10 May 2031)." in page
        assert "Renew it, or change to another plan when you renew" in page

    assert state() == before
    assert len(stripe_delivers.requests_to("POST", "/v1/checkout/sessions")) == checkouts
    assert mailbox.to(user.email) == []


def test_joining_again_is_refused_in_japanese_for_a_japanese_member(frozen, app, make_plan, member):
    plan = make_plan(name_ja="個人会員")
    _, browser, membership = member(plan, language="ja")

    response = join(browser, plan)

    assert response.status_code == 409
    page = page_text(response)
    assert '<html lang="ja">' in page
    with force_locale("ja"):
        expected = str(services.already_member(fresh(membership)))
    assert expected in page
    assert "個人会員" in expected and "2031年5月10日" in expected


def test_paying_again_for_an_active_membership_is_refused(
    frozen, app, make_plan, member, stripe_delivers
):
    _, browser, membership = member(make_plan())
    checkouts = len(stripe_delivers.requests_to("POST", "/v1/checkout/sessions"))
    before = state()

    response = browser.post(
        f"/membership/{membership.id}/pay", data={"csrf_token": token_of(browser)}
    )

    assert response.status_code == 302
    assert "There is nothing to pay for this membership." in flashed_on(browser)
    assert state() == before
    assert len(stripe_delivers.requests_to("POST", "/v1/checkout/sessions")) == checkouts


def test_joining_a_free_plan_twice_at_once_makes_one_membership(
    app, make_plan, make_user, browser_of, mailbox
):
    plan = make_plan(price_minor=0)
    user = make_user()
    browsers = [browser_of(user), browser_of(user)]
    tokens = [token_of(browser, f"/join/{plan.slug}") for browser in browsers]

    statuses = post_together(f"/join/{plan.slug}", list(zip(browsers, tokens, strict=True)))

    assert 500 not in statuses
    assert statuses.count(302) >= 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 1
    assert [e.kind for e in fresh(services.current_membership(user)).history] == ["joined"]
    assert len(mailbox.to(user.email)) == 1


def test_joining_a_paid_plan_twice_at_once_makes_one_membership_and_one_order(
    app, make_plan, make_user, browser_of, stripe_delivers
):
    plan = make_plan()
    user = make_user()
    browsers = [browser_of(user), browser_of(user)]
    tokens = [token_of(browser, f"/join/{plan.slug}") for browser in browsers]

    statuses = post_together(f"/join/{plan.slug}", list(zip(browsers, tokens, strict=True)))

    assert 500 not in statuses
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 1
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert services.current_membership(user).status == "pending"


def _race(app, calls) -> list[str]:
    """Each call in a thread and an app context of its own; what each came to."""
    db.session.commit()
    outcomes: list[str] = []

    def run(call) -> None:
        with app.app_context():
            try:
                joined = call()
            except Conflict as error:
                outcomes.append(str(error))
            else:
                outcomes.append(f"joined {joined.membership.id}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def _joiner(user_id: int, slug: str):
    return lambda: services.join(db.session.get(User, user_id), slug)


@pytest.mark.parametrize("price", [0, 5000])
def test_two_joins_that_both_read_first_keep_one_membership(
    app, make_plan, make_user, writers_meet, mailbox, price
):
    plan = make_plan(price_minor=price)
    user = make_user()
    writers_meet(2)  # both have found no membership before either writes

    outcomes = _race(app, [_joiner(user.id, plan.slug)] * 2)

    db.session.rollback()
    [membership] = db.session.scalars(select(Membership)).all()
    if price == 0:
        refused, joined = outcomes
        assert joined == f"joined {membership.id}"
        assert refused.startswith("You are already a member")
        assert membership.status == "active"
    else:
        assert outcomes == [f"joined {membership.id}"] * 2  # the second resumes the first
        assert membership.status == "pending"
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1


# --- another person's membership -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fields"),
    [("pay", {}), ("renew", {"plan": "PLAN"}), ("auto-renew", {"renew": "off"}), ("card", {})],
)
def test_every_button_on_another_persons_membership_is_not_found_and_changes_nothing(
    frozen, app, make_plan, member, stripe_delivers, mailbox, action, fields
):
    plan = make_plan(renewal="subscription", price_minor=6000)
    _, _, theirs = member(plan)
    _, stranger, _ = member(plan)
    data = {key: plan.slug if value == "PLAN" else value for key, value in fields.items()}
    requests = len(stripe_delivers.requests)
    before = state()

    response = stranger.post(
        f"/membership/{theirs.id}/{action}", data={"csrf_token": token_of(stranger), **data}
    )

    assert response.status_code == 404
    assert state() == before
    assert len(stripe_delivers.requests) == requests


def test_another_persons_pending_membership_cannot_be_paid_by_a_stranger(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers
):
    plan = make_plan()
    owner = make_user()
    join(browser_of(owner), plan)
    pending = services.current_membership(owner)
    stranger = browser_of(make_user())
    checkouts = len(stripe_delivers.requests_to("POST", "/v1/checkout/sessions"))

    response = stranger.post(
        f"/membership/{pending.id}/pay", data={"csrf_token": token_of(stranger)}
    )

    assert response.status_code == 404
    assert len(stripe_delivers.requests_to("POST", "/v1/checkout/sessions")) == checkouts


# --- what does not exist -------------------------------------------------------------------------


def test_a_plan_that_does_not_exist_is_not_found(app, make_user, browser_of, client):
    browser = browser_of(make_user())
    assert client.get("/join/no-such-plan").status_code == 404
    assert browser.get("/join/no-such-plan").status_code == 404
    response = browser.post("/join/no-such-plan", data={"csrf_token": token_of(browser)})
    assert response.status_code == 404
    assert state()[0] == ()


@pytest.mark.parametrize(
    "path",
    [
        f"/membership/{HUGE}/pay",
        f"/membership/{HUGE}/renew",
        f"/membership/{HUGE}/auto-renew",
        f"/membership/{HUGE}/card",
        "/membership/2147483648/pay",
        "/membership/0/card",
        "/membership/-1/pay",
    ],
)
def test_huge_or_impossible_ids_on_the_buttons_are_not_found(frozen, app, make_plan, member, path):
    _, browser, _ = member(make_plan())
    before = state()

    response = browser.post(path, data={"csrf_token": token_of(browser), "renew": "off"})

    assert response.status_code == 404
    assert state() == before


def test_huge_or_impossible_ids_in_a_receipts_address_are_not_found(frozen, app, make_plan, member):
    _, browser, membership = member(make_plan())
    [payment_id] = [e.payment_id for e in fresh(membership).history]

    for path in (
        f"/membership/{HUGE}/receipts/{payment_id}",
        f"/membership/{membership.id}/receipts/{HUGE}",
        f"/membership/{membership.id}/receipts/{HUGE}.pdf",
        f"/membership/{membership.id}/receipts/2147483648",
        f"/membership/{membership.id}/receipts/0",
        f"/membership/{membership.id}/receipts/{payment_id + 1}",
        f"/membership/{membership.id}/receipts/{payment_id}.txt",
    ):
        assert browser.get(path).status_code == 404, path


# --- NUL bytes and odd Unicode -------------------------------------------------------------------


@pytest.mark.parametrize("slug", ODD_SLUGS)
def test_an_odd_plan_address_is_not_found_never_a_server_error(
    app, make_plan, make_user, browser_of, client, slug
):
    make_plan(slug="plan-1")
    browser = browser_of(make_user())
    token = token_of(browser)

    # A NUL byte in an address is refused before any view (400); anything else is no plan.
    assert client.get(f"/join/{slug}").status_code in (400, 404)
    assert browser.get(f"/join/{slug}").status_code in (400, 404)
    assert browser.post(f"/join/{slug}", data={"csrf_token": token}).status_code in (400, 404)
    assert state()[0] == ()


@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_values_in_the_renewal_form_get_a_message_and_change_nothing(
    frozen, app, make_plan, member, browser_of, stripe_delivers, value
):
    plan = make_plan(slug="plan-1")
    user, _, membership = member(plan)
    frozen.move_to(fresh(membership).ends_at.replace(month=4))  # inside the renewal window
    browser = browser_of(user)
    requests = len(stripe_delivers.requests)
    before = state()

    response = browser.post(
        f"/membership/{membership.id}/renew",
        data={"csrf_token": token_of(browser), "plan": value},
    )

    assert response.status_code in (302, 400, 404)
    if response.status_code == 302:
        assert "Choose a plan for the next year." in flashed_on(browser)
    assert state() == before
    assert len(stripe_delivers.requests) == requests


@pytest.mark.parametrize("value", [*ODD_VALUES, "maybe", "ON"])
def test_odd_values_in_the_automatic_renewal_form_are_refused_and_change_nothing(
    frozen, app, make_plan, member, stripe_delivers, value
):
    _, browser, membership = member(make_plan(renewal="subscription", price_minor=6000))
    requests = len(stripe_delivers.requests)
    before = state()

    response = browser.post(
        f"/membership/{membership.id}/auto-renew",
        data={"csrf_token": token_of(browser), "renew": value},
    )

    assert response.status_code == 400
    assert state() == before
    assert len(stripe_delivers.requests) == requests


@pytest.mark.parametrize("token", ["", "\x00", "not-a-token", "😀" * 100])
def test_a_missing_or_odd_csrf_token_is_refused_on_every_button(
    frozen, app, make_plan, member, stripe_delivers, token
):
    plan = make_plan()
    _, browser, membership = member(plan)
    requests = len(stripe_delivers.requests)
    before = state()

    for path, fields in (
        (f"/join/{plan.slug}", {}),
        (f"/membership/{membership.id}/pay", {}),
        (f"/membership/{membership.id}/renew", {"plan": plan.slug}),
        (f"/membership/{membership.id}/auto-renew", {"renew": "off"}),
        (f"/membership/{membership.id}/card", {}),
    ):
        response = browser.post(path, data={"csrf_token": token, **fields})
        assert response.status_code in (302, 400), (path, response.status_code)

    assert state() == before
    assert len(stripe_delivers.requests) == requests


def test_a_checkout_abandoned_at_stripe_lets_the_person_join_again(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers
):
    plan = make_plan()
    user = make_user()
    browser = browser_of(user)
    first = join(browser, plan).headers["Location"]

    stripe_delivers.expire(session_id_of(first))

    assert services.current_membership(user) is None
    second = join(browser, plan)
    assert second.status_code == 303
    assert second.headers["Location"] != first
