"""A manage link can be replaced, by whoever holds it (on the manage page) and by an organiser
(on the attendee list): the old link answers 404 at once, everywhere it worked, and the new one
goes only to the registration's e-mail address. Neither the person who asked nor the organiser
sees it; of two replacements at once, exactly one happens.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from community.events import services as event_services
from tests.conftest import csrf_token_from, link_in, post_together, submit


def manage_path(registration) -> str:
    return f"/registrations/{registration.id}/{event_services.manage_token(registration)}"


def old_link_paths(path: str) -> list[str]:
    """Every address the manage link opens (GET)."""
    return [path, f"{path}/ticket.svg"]


def assert_dead(client, path: str) -> None:
    for target in old_link_paths(path):
        assert client.get(target).status_code == 404, target
    for action in ("cancel", "pay", "new-link", "calendar/send"):
        page = client.get("/events")
        response = client.post(
            f"{path}/{action}", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))}
        )
        assert response.status_code == 404, action


def new_link_from(mailbox, address: str) -> str:
    return urlsplit(link_in(mailbox.last_to(address), "/registrations/")).path


def test_the_holder_replaces_the_link_the_old_one_dies_and_the_new_one_is_e_mailed(
    client, make_event, register, mailbox
):
    event = make_event(title_en="Replace night")
    registration = register(event, 1)
    old = manage_path(registration)
    page = client.get(old).get_data(as_text=True)
    assert f'action="{old}/new-link"' in page
    mailbox.clear()

    response = submit(client, old, {}, post_path=f"{old}/new-link")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/events/{event.slug}"
    landing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This registration has a new link, sent to its e-mail address." in landing
    [message] = mailbox.messages
    assert message["X-Envelope-To"] == "guest1@example.com"
    new = new_link_from(mailbox, "guest1@example.com")
    assert new != old and new.startswith(f"/registrations/{registration.id}/")
    assert new.rsplit("/", 1)[-1] not in landing + response.get_data(as_text=True)
    assert_dead(client, old)
    fresh = client.get(new)
    assert fresh.status_code == 200
    assert "Replace night" in fresh.get_data(as_text=True)


def test_an_organiser_replaces_an_attendees_link_without_seeing_the_new_one(
    client, make_event, register, mailbox, organiser, login
):
    event = make_event()
    registration = register(event, 1)
    old = manage_path(registration)
    login(organiser)
    attendees = f"/organiser/events/{event.slug}/attendees"
    target = f"{attendees}/{registration.id}/new-link"
    assert f'action="{target}"' in client.get(attendees).get_data(as_text=True)
    mailbox.clear()

    response = submit(client, attendees, {}, post_path=target)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == attendees
    page = client.get(attendees).get_data(as_text=True)
    assert "the new one was e-mailed to guest1@example.com" in page
    assert {m["X-Envelope-To"] for m in mailbox.messages} == {"guest1@example.com"}
    new = new_link_from(mailbox, "guest1@example.com")
    assert new.rsplit("/", 1)[-1] not in page
    assert new not in client.get(f"{attendees}.csv").get_data(as_text=True)
    assert_dead(client, old)
    assert client.get(new).status_code == 200


def test_an_organiser_cannot_replace_links_of_other_events(
    client, make_event, register, mailbox, make_user, login
):
    mine = make_event()
    theirs = make_event()
    outsider = register(theirs, 1)
    token = event_services.manage_token(outsider)
    other_organiser = make_user(role="organiser")
    login(other_organiser)
    mailbox.clear()
    # An organiser who does not run the event, and a registration of another event under an
    # event one runs: both 404, nothing changes, nothing is sent.
    for slug in (theirs.slug, mine.slug):
        response = submit(
            client,
            "/organiser/",
            {},
            post_path=f"/organiser/events/{slug}/attendees/{outsider.id}/new-link",
        )
        assert response.status_code == 404
    assert event_services.manage_token(outsider) == token
    assert mailbox.messages == []


@pytest.mark.parametrize("wrong", ["token", "registration"])
def test_replacing_with_a_bad_link_answers_404_and_changes_nothing(
    client, make_event, register, mailbox, wrong
):
    event = make_event()
    mine = register(event, 1)
    other = register(event, 2)
    their_token = event_services.manage_token(other)
    target = {
        "token": f"/registrations/{other.id}/{'0' * 32}/new-link",
        # Another person's id with one's own (valid) token.
        "registration": f"/registrations/{other.id}/{event_services.manage_token(mine)}/new-link",
    }[wrong]
    mailbox.clear()
    response = submit(client, manage_path(mine), {}, post_path=target)
    assert response.status_code == 404
    assert event_services.manage_token(other) == their_token
    assert mailbox.messages == []


def test_replacing_without_the_csrf_token_is_refused(client, make_event, register, mailbox):
    registration = register(make_event(), 1)
    path = manage_path(registration)
    mailbox.clear()
    assert client.post(f"{path}/new-link").status_code == 400
    assert client.get(path).status_code == 200
    assert mailbox.messages == []


def test_two_replacements_at_once_make_exactly_one_new_link(
    client, app, make_event, register, mailbox, writers_meet
):
    registration = register(make_event(), 1)
    old = manage_path(registration)
    browsers = [client, app.test_client()]  # two browsers, each in its own app context
    tokens = [csrf_token_from(b.get(old).get_data(as_text=True)) for b in browsers]
    writers_meet(2)  # both requests have checked the old link before either starts to write
    mailbox.clear()
    assert post_together(f"{old}/new-link", zip(browsers, tokens, strict=True)) == [302, 404]
    [message] = mailbox.messages
    new = urlsplit(link_in(message, "/registrations/")).path
    assert browsers[0].get(new).status_code == 200
    assert browsers[0].get(old).status_code == 404


def test_replacing_twice_leaves_only_the_newest_link(client, make_event, register, mailbox):
    registration = register(make_event(), 1)
    first = manage_path(registration)
    submit(client, first, {}, post_path=f"{first}/new-link")
    second = new_link_from(mailbox, "guest1@example.com")
    submit(client, second, {}, post_path=f"{second}/new-link")
    third = new_link_from(mailbox, "guest1@example.com")
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 404
    assert client.get(third).status_code == 200
