"""The membership pages rendered once per key (core/pages.py): an administrator's change to a plan
shows at once on `/join`, the plan's page, `/membership` and the profile; two members in the same
state share a page but each sees only their own name, address and ids; a member never sees
another's membership; a waiting message is shown (the page is then rendered, not cached); and
each language gets its own page."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from community.core.db import db
from community.membership import services
from tests.conftest import csrf_token_from
from tests.membership.conftest import join, page_text

SHOWN_PAGES = ("/join", "/membership", "/account/profile")


def fields_of(plan, **changes) -> services.PlanFields:
    db.session.refresh(plan)
    fields = services.PlanFields(
        slug=plan.slug,
        name_ja=plan.name_ja,
        name_en=plan.name_en,
        description_ja=plan.description_ja,
        description_en=plan.description_en,
        price_minor=plan.price_minor,
        currency=plan.currency,
        renewal=plan.renewal,
        benefits=tuple(plan.benefits),
        position=plan.position,
    )
    return replace(fields, **changes)


def membership_ids_in(page: str) -> set[int]:
    return {int(found) for found in re.findall(r"/membership/(\d+)/", page)}


# --- freshness -----------------------------------------------------------------------------------


def test_a_plans_new_price_and_name_show_at_once_on_the_plans_and_the_plans_page(
    app, client, make_plan, make_user, browser_of
):
    plan = make_plan(name_en="Individual", price_minor=5000)
    browser = browser_of(make_user())
    for reader in (client, browser):
        assert "Individual" in page_text(reader.get("/join"))
        assert "¥5,000" in page_text(reader.get(f"/join/{plan.slug}"))

    services.update_plan(plan.id, fields_of(plan, name_en="Supporter", price_minor=7000))

    for reader in (client, browser):
        listing = page_text(reader.get("/join"))
        assert "Supporter" in listing and "Individual" not in listing
        assert "¥7,000" in listing and "¥5,000" not in listing
        page = page_text(reader.get(f"/join/{plan.slug}"))
        assert "Supporter" in page and "¥7,000" in page and "¥5,000" not in page


def test_a_plan_changed_through_the_orm_or_retired_shows_at_once(
    app, make_plan, make_user, browser_of
):
    plan = make_plan(name_en="Individual")
    browser = browser_of(make_user())
    assert "Pay ¥5,000 and become a member" in page_text(browser.get(f"/join/{plan.slug}"))

    db.session.refresh(plan)
    plan.description_en = "Now with a newsletter."
    db.session.commit()
    assert "Now with a newsletter." in page_text(browser.get("/join"))
    assert "Now with a newsletter." in page_text(browser.get(f"/join/{plan.slug}"))

    services.set_plan_status(plan.id, "retired")
    assert f"/join/{plan.slug}" not in page_text(browser.get("/join"))
    page = page_text(browser.get(f"/join/{plan.slug}"))
    assert "This plan is no longer offered." in page
    assert "become a member" not in page


def test_a_renamed_plan_shows_at_once_on_the_members_own_pages(frozen, app, make_plan, member):
    plan = make_plan(name_en="Individual")
    _user, browser, _ = member(plan)
    for path in SHOWN_PAGES:
        assert "Individual" in page_text(browser.get(path)), path

    services.update_plan(plan.id, fields_of(plan, name_en="Supporter"))

    for path in SHOWN_PAGES:
        page = page_text(browser.get(path))
        assert "Supporter" in page and "Individual" not in page, path


def test_a_membership_ended_by_a_refund_shows_at_once_on_every_page(
    frozen, app, make_plan, member, stripe_delivers
):
    plan = make_plan(name_en="Individual")
    _user, browser, _ = member(plan)
    for path in (*SHOWN_PAGES, f"/join/{plan.slug}"):
        browser.get(path)
    assert "You are a member: Individual." in page_text(browser.get("/join"))
    [intent] = stripe_delivers.objects("payment_intent")

    stripe_delivers.refund_from_dashboard(intent["id"])

    assert "You are a member" not in page_text(browser.get("/join"))
    mine = page_text(browser.get("/membership"))
    assert "You are not a member." in mine
    assert "Earlier memberships" in mine and "Cancelled (ended early)" in mine
    assert "You are not a member." in page_text(browser.get("/account/profile"))
    page = page_text(browser.get(f"/join/{plan.slug}"))
    assert "You are already a member" not in page
    assert "Pay ¥5,000 and become a member" in page


def test_the_renewal_form_appears_on_the_day_the_window_opens(
    frozen, app, make_plan, member, browser_of
):
    plan = make_plan()
    user, _, membership = member(plan)
    ends = db.session.get(type(membership), membership.id).ends_at
    # A new browser each time: a session does not last the months moved over.
    frozen.move_to(ends - services.RENEWAL_WINDOW - timedelta(minutes=1))
    browser = browser_of(user)
    for _ in range(2):  # the second is the page kept for its key
        assert "Renew for another year" not in page_text(browser.get("/membership"))

    frozen.move_to(ends - services.RENEWAL_WINDOW)
    for _ in range(2):
        page = browser.get("/membership").get_data(as_text=True)
        assert "Renew for another year" in page
        assert f'action="/membership/{membership.id}/renew"' in page
    # The kept page's form works: its token is this browser's own.
    response = browser.post(
        f"/membership/{membership.id}/renew",
        data={"csrf_token": csrf_token_from(page), "plan": plan.slug},
    )
    assert response.status_code == 303


# --- privacy -------------------------------------------------------------------------------------


def test_two_members_of_the_same_plan_each_see_only_their_own_name_address_and_ids(
    frozen, app, make_plan, member
):
    plan = make_plan(name_en="Individual")
    ann, ann_browser, ann_membership = member(plan, name="Ann Example", email="ann@example.com")
    bob, bob_browser, bob_membership = member(plan, name="Bob Sample", email="bob@example.com")

    for path in (*SHOWN_PAGES, f"/join/{plan.slug}"):
        # Each twice: the second is the page kept for the key they share.
        for _ in range(2):
            for mine, theirs, browser in (
                (ann, bob, ann_browser),
                (bob, ann, bob_browser),
            ):
                page = page_text(browser.get(path))
                assert theirs.name not in page and theirs.email not in page, path
                if path == "/account/profile":
                    assert mine.email in page

    ann_page = page_text(ann_browser.get("/membership"))
    bob_page = page_text(bob_browser.get("/membership"))
    assert membership_ids_in(ann_page) == {ann_membership.id}
    assert membership_ids_in(bob_page) == {bob_membership.id}
    assert ann_page.count("/receipts/") == bob_page.count("/receipts/") == 4
    assert "\x00" not in ann_page and "\x00" not in bob_page
    for page, browser in ((ann_page, ann_browser), (bob_page, bob_browser)):
        [receipt, *_] = re.findall(r'href="(/membership/\d+/receipts/\d+)\?lang=en"', page)
        assert browser.get(receipt).status_code == 200


def test_a_member_never_sees_another_persons_membership(
    frozen, app, make_plan, member, make_user, browser_of
):
    plan = make_plan(name_en="Individual")
    _ann, ann_browser, _ = member(plan)
    stranger = browser_of(make_user(name="Carol Other"))
    # Ann's pages are rendered (and kept) first.
    for path in (*SHOWN_PAGES, f"/join/{plan.slug}"):
        ann_browser.get(path)

    assert "You are a member" not in page_text(stranger.get("/join"))
    page = page_text(stranger.get("/membership"))
    assert "You are not a member." in page
    assert "Individual" not in page and membership_ids_in(page) == set()
    assert "/receipts/" not in page
    assert "You are not a member." in page_text(stranger.get("/account/profile"))
    plan_page = page_text(stranger.get(f"/join/{plan.slug}"))
    assert "You are already a member" not in plan_page
    assert "Pay ¥5,000 and become a member" in plan_page


def test_a_pending_membership_is_told_only_to_its_owner(app, make_plan, make_user, browser_of):
    first = make_plan(name_en="Individual")
    second = make_plan(name_en="Patron", price_minor=8000)
    owner = browser_of(make_user())
    assert join(owner, first).status_code == 303
    assert "Your unpaid membership of Individual" in page_text(owner.get(f"/join/{second.slug}"))

    other = browser_of(make_user())
    assert "Your unpaid membership" not in page_text(other.get(f"/join/{second.slug}"))
    assert "Pay ¥5,000" not in page_text(other.get("/membership"))


# --- messages, forms and languages ---------------------------------------------------------------


def test_a_waiting_message_is_shown_once_then_the_page_is_the_cached_one(
    frozen, app, make_plan, make_user, browser_of
):
    plan = make_plan(price_minor=0, name_en="Community")
    browser = browser_of(make_user())
    browser.get("/membership")  # kept, not a member yet
    response = join(browser, plan)
    assert response.status_code == 302

    page = page_text(browser.get(response.headers["Location"]))
    assert "Welcome: you are a member now." in page
    assert "Community" in page
    again = page_text(browser.get("/membership"))
    assert "Welcome: you are a member now." not in again
    assert "Community" in again


def test_a_refused_join_re_renders_the_plans_page_with_its_message(frozen, app, make_plan, member):
    plan = make_plan(name_en="Individual")
    _user, browser, _ = member(plan)
    page = browser.get(f"/join/{plan.slug}")
    response = browser.post(
        f"/join/{plan.slug}", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))}
    )

    assert response.status_code == 409
    assert "You are already a member (Individual, until" in page_text(response)
    assert "You are already a member" in page_text(browser.get(f"/join/{plan.slug}"))


def test_each_language_gets_its_own_pages(frozen, app, make_plan, member):
    plan = make_plan(name_ja="個人会員", name_en="Individual")
    _ja_user, ja_browser, _ = member(plan, language="ja")
    _en_user, en_browser, _ = member(plan, language="en")

    for path in (*SHOWN_PAGES, f"/join/{plan.slug}"):
        for _ in range(2):
            ja_page = page_text(ja_browser.get(path))
            en_page = page_text(en_browser.get(path))
            assert "個人会員" in ja_page and "Individual" not in ja_page, path
            assert "Individual" in en_page and "個人会員" not in en_page, path


def test_an_unknown_plan_is_not_found_and_stays_so_until_it_is_made(app, client, make_plan):
    assert client.get("/join/later").status_code == 404
    assert client.get("/join/later").status_code == 404
    make_plan(slug="later", name_en="Later")
    assert "Later" in page_text(client.get("/join/later"))
