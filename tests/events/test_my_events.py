"""A signed-in person finds their own registrations on their profile ("My events"): places to pay
for with their deadline, what is coming (a waiting place with its number in the queue), past
places, each linking to its manage page. The account's own registrations count, and the guest
registrations of its address once that address is confirmed (anyone can sign up, or register,
with any address). A waiting place shows its number on its manage page too.
"""

from __future__ import annotations

import re
from datetime import timedelta

from community.core.db import db, utcnow
from community.events import services
from community.events.services import TicketTypeData
from tests.conftest import submit

PAID = [TicketTypeData(slug="paid", name_ja="有料", name_en="Paid", price_minor=3000)]


def manage_path(registration) -> str:
    return f"/registrations/{registration.id}/{services.manage_token(registration)}"


def my_events_of(client) -> str:
    """The "My events" section of the signed-in person's profile page."""
    response = client.get("/account/profile")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    match = re.search(r'<section id="my-events".*?</section>', page, re.S)
    assert match, "no My events section on the profile page"
    return match.group(0)


def group(section: str, heading: str) -> str:
    """The list under one heading of the section ("To pay", "Coming up", "Past events")."""
    match = re.search(rf"<h3[^>]*>{heading}</h3>\s*<ul.*?</ul>", section, re.S)
    assert match, f"no group {heading!r} in:\n{section}"
    return match.group(0)


def test_my_events_groups_places_to_pay_coming_places_and_past_ones_with_their_links(
    client, make_user, make_event, register, login
):
    member = make_user(name="Mia Member")
    to_pay = register(make_event(title_en="Paid workshop", tickets=PAID), 1, user=member)
    coming = register(make_event(title_en="Free evening"), 1, user=member)
    full = make_event(title_en="Full night", capacity=1)
    register(full, 2)
    register(full, 3)
    waiting = register(full, 1, user=member)
    gone = make_event(title_en="Last month talk")
    attended = register(gone, 1, user=member)
    gone.starts_at = utcnow().replace(microsecond=0) - timedelta(days=30)
    gone.ends_at = gone.starts_at + timedelta(hours=2)
    db.session.commit()
    login(member)

    section = my_events_of(client)

    assert to_pay.status == "awaiting_payment" and waiting.status == "waitlisted"
    paying = group(section, "To pay")
    assert "Paid workshop" in paying and "¥3,000" in paying
    assert "Waiting for payment until" in paying
    assert f'href="http://localhost{manage_path(to_pay)}"' in paying
    upcoming = group(section, "Coming up")
    assert "Free evening" in upcoming and "Confirmed" in upcoming
    assert f'href="http://localhost{manage_path(coming)}"' in upcoming
    assert "Full night" in upcoming
    assert "You are number 2 on the waiting list" in upcoming
    assert f'href="http://localhost{manage_path(waiting)}"' in upcoming
    past = group(section, "Past events")
    assert "Last month talk" in past
    assert f'href="http://localhost{manage_path(attended)}"' in past
    for elsewhere in ("Free evening", "Full night"):
        assert elsewhere not in paying and elsewhere not in past


def test_a_place_offered_from_the_waiting_list_is_to_pay_with_its_deadline(
    client, make_user, make_event, register, login
):
    member = make_user()
    event = make_event(title_en="Popular paid night", capacity=1, tickets=PAID)
    first = register(event, 2)
    offered = register(event, 1, user=member)
    services.cancel_registration(first.id)
    db.session.refresh(offered)
    assert offered.status == "offered"
    login(member)

    paying = group(my_events_of(client), "To pay")

    assert "Popular paid night" in paying
    assert "A place is offered to you until" in paying
    assert f'href="http://localhost{manage_path(offered)}"' in paying


def test_a_hold_whose_time_ran_out_is_no_longer_offered_for_payment(
    client, make_user, make_event, register, login
):
    member = make_user()
    lapsed = register(make_event(title_en="Missed payment", tickets=PAID), 1, user=member)
    lapsed.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login(member)

    section = my_events_of(client)

    assert "To pay" not in section
    upcoming = group(section, "Coming up")
    assert "Missed payment" in upcoming and "The time to pay ran out" in upcoming


def test_cancelled_places_are_not_in_my_events(client, make_user, make_event, register, login):
    member = make_user()
    left = register(make_event(title_en="Changed my mind"), 1, user=member)
    services.cancel_registration(left.id)
    login(member)

    section = my_events_of(client)

    assert "Changed my mind" not in section
    assert "You have no registrations yet." in section


def test_guest_registrations_of_a_confirmed_address_are_in_my_events(
    client, make_user, make_event, register, login
):
    member = make_user(email="mia@example.com")
    as_guest = register(make_event(title_en="Before I had an account"), 1, email="Mia@Example.com")
    assert as_guest.user_id is None
    login(member)

    upcoming = group(my_events_of(client), "Coming up")

    assert "Before I had an account" in upcoming
    assert f'href="http://localhost{manage_path(as_guest)}"' in upcoming


def test_an_unconfirmed_account_does_not_gather_the_guest_registrations_of_its_address(
    make_user, make_event, register
):
    """Signing up with someone's address proves nothing until the address is confirmed: the
    account has only what it registered for itself (the calendar's account feed does the same)."""
    owners = register(make_event(title_en="The owner's guest place"), 1, email="owner@example.com")
    squatter = make_user(email="owner@example.com", email_confirmed_at=None)
    own = register(make_event(title_en="The squatter's own place"), 2, user=squatter)

    found = services.my_events(squatter)

    assert [item.registration.id for item in found.upcoming] == [own.id]
    assert owners.id not in {item.registration.id for item in found.to_pay + found.past}


def test_other_peoples_registrations_stay_out_of_my_events(
    client, make_user, make_event, register, login
):
    member = make_user(email="mia@example.com")
    other = make_user(email="otto@example.com")
    event = make_event(title_en="Otto's evening")
    register(event, 1, email="otto@example.com", user=other)
    # Otto, signed in, registers a place with Mia's address: his place, in his account.
    theirs = register(make_event(title_en="Otto's gift"), 2, email="mia@example.com", user=other)
    register(make_event(title_en="A stranger's night"), 3)
    login(member)

    section = my_events_of(client)

    assert "Otto" not in section and "A stranger" not in section
    assert f"/registrations/{theirs.id}/" not in section
    assert theirs.id in {item.registration.id for item in services.my_events(other).upcoming}


def test_my_events_shows_to_a_browser_signed_in_by_its_remember_me_cookie_only_and_is_not_kept(
    app, client, make_user, make_event, register, login
):
    app.config["PAGE_CACHE_SECONDS"] = 60
    member = make_user(name="Rita Remembered")
    register(make_event(title_en="Remembered evening"), 1, user=member)
    login(member, remember=True)
    # The browser was closed: the session cookie is gone, the remember-me cookie stays.
    client.delete_cookie("session")

    response = client.get("/account/profile")

    assert response.status_code == 200
    assert "Remembered evening" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    # Nobody else, nor the same browser signed out, gets the person's page.
    submit(client, "/", {}, post_path="/account/logout")
    stranger = app.test_client()
    for browser in (client, stranger):
        after = browser.get("/account/profile")
        assert after.status_code == 302
        assert "Remembered evening" not in after.get_data(as_text=True)


def test_the_waiting_number_follows_the_queue_and_moves_up_when_someone_ahead_leaves(
    client, make_event, register
):
    event = make_event(title_en="Queue night", capacity=1)
    register(event, 1)
    first, second, third = (register(event, number) for number in (2, 3, 4))

    assert [services.waitlist_position(r) for r in (first, second, third)] == [1, 2, 3]
    page = client.get(manage_path(third)).get_data(as_text=True)
    assert "You are number 3 on the waiting list" in page

    services.cancel_registration(second.id)

    assert services.waitlist_position(third) == 2
    page = client.get(manage_path(third)).get_data(as_text=True)
    assert "You are number 2 on the waiting list" in page
    assert services.waitlist_position(second) is None


def test_the_waiting_number_is_the_order_in_which_places_are_given(client, make_event, register):
    """The queue is (queued_at, id), as promotion takes it: whoever is number 1 gets the next
    place, even when two joined in the same instant."""
    event = make_event(title_en="Tie night", capacity=1)
    holder = register(event, 1)
    early, late, tied = (register(event, number) for number in (2, 3, 4))
    late.queued_at = early.queued_at - timedelta(seconds=5)
    tied.queued_at = early.queued_at
    db.session.commit()

    positions = services.waitlist_positions([early, late, tied])

    assert positions == {late.id: 1, early.id: 2, tied.id: 3}
    services.cancel_registration(holder.id)
    db.session.refresh(late)
    assert late.status == "confirmed"
    assert services.waitlist_positions([early, tied]) == {early.id: 1, tied.id: 2}


def test_my_events_and_the_waiting_number_are_in_japanese_for_japanese_readers(
    client, make_user, make_event, register, login
):
    member = make_user(locale="ja")
    full = make_event(title_ja="満員の夜", capacity=1)
    register(full, 2)
    register(full, 3)
    register(full, 1, user=member)
    login(member)

    section = my_events_of(client)

    assert "マイイベント" in section
    assert "満員の夜" in section
    assert "キャンセル待ちの2番目です" in section
