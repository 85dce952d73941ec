"""Undoing a check-in made by mistake at the door: a POST with its CSRF token from the check-in
page (no JavaScript needed), back to the page with a message; two undos at once undo once; an
address for someone else's registration is not found.

Pages are driven with CSRF on, against the real databases.
"""

from __future__ import annotations

import threading

import pytest

from community.core.db import db
from community.events import services
from tests.conftest import PASSWORD, csrf_token_from, submit


@pytest.fixture
def door(make_event, register):
    """An event with Ann checked in and Ben not yet."""
    event = make_event()
    ann = register(event, 1, name="Ann Arbor")
    ben = register(event, 2, name="Ben Boston")
    services.check_in(event, ann.ticket_code)
    return event, ann, ben


def check_in_path(event) -> str:
    return f"/organiser/events/{event.slug}/check-in"


def undo_path(event, registration) -> str:
    return f"{check_in_path(event)}/{registration.id}/undo"


def fresh(registration):
    db.session.rollback()  # see what the requests committed
    db.session.refresh(registration)
    return registration


def test_undoing_a_check_in_clears_it_and_the_counter_goes_down(client, login, organiser, door):
    event, ann, _ben = door
    login(organiser)
    page = client.get(check_in_path(event)).get_data(as_text=True)
    assert "<strong>1</strong> / 2" in page
    response = submit(client, check_in_path(event), {}, post_path=undo_path(event, ann))
    assert response.status_code == 302
    assert response.headers["Location"] == check_in_path(event)
    assert fresh(ann).checked_in_at is None
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check-in undone: Ann Arbor" in html
    assert "<strong>0</strong> / 2" in html
    # Checked in again afterwards, as when the mistake was only the moment.
    again = submit(client, check_in_path(event), {"code": ann.ticket_code}, follow_redirects=True)
    assert "Checked in: Ann Arbor" in again.get_data(as_text=True)
    assert fresh(ann).checked_in_at is not None


def test_the_check_in_page_offers_undo_for_the_latest_check_ins_and_in_the_search(
    client, login, organiser, door
):
    event, ann, ben = door
    login(organiser)
    html = client.get(check_in_path(event)).get_data(as_text=True)
    assert "Just checked in" in html
    assert f'action="{undo_path(event, ann)}"' in html
    assert f'action="{undo_path(event, ben)}"' not in html
    assert 'Undo check-in<span class="visually-hidden">: Ann Arbor</span>' in html
    found = client.get(check_in_path(event), query_string={"q": "arbor"}).get_data(as_text=True)
    assert found.count(f'action="{undo_path(event, ann)}"') == 2  # latest, and the search result
    assert '<input type="hidden" name="q" value="arbor">' in found
    scanned = client.get(check_in_path(event), query_string={"code": ann.ticket_code})
    assert f'action="{undo_path(event, ann)}"' in scanned.get_data(as_text=True)


def test_an_undo_from_the_search_goes_back_to_the_same_search(client, login, organiser, door):
    event, ann, _ben = door
    login(organiser)
    response = submit(
        client,
        check_in_path(event) + "?q=arbor",
        {"q": "arbor"},
        post_path=undo_path(event, ann),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == check_in_path(event) + "?q=arbor"


def test_undoing_someone_who_is_not_checked_in_says_so_and_changes_nothing(
    client, login, organiser, door
):
    event, _ann, ben = door
    before = fresh(ben).updated_at
    login(organiser)
    response = submit(
        client, check_in_path(event), {}, post_path=undo_path(event, ben), follow_redirects=True
    )
    assert response.status_code == 200
    assert "Ben Boston is not checked in: there is nothing to undo." in response.get_data(
        as_text=True
    )
    assert fresh(ben).checked_in_at is None
    assert ben.updated_at == before


def test_undo_of_a_registration_of_another_event_is_not_found(
    client, login, organiser, door, make_event, register
):
    event, _ann, _ben = door
    other = make_event()
    stranger = register(other, 3)
    services.check_in(other, stranger.ticket_code)
    login(organiser)
    for path in (
        undo_path(event, stranger),
        f"{check_in_path(event)}/999999/undo",
        f"{check_in_path(event)}/99999999999999999999/undo",
        f"{check_in_path(event)}/0/undo",
        f"{check_in_path(event)}/-1/undo",
    ):
        response = submit(client, check_in_path(event), {}, post_path=path)
        assert response.status_code == 404, path
    assert fresh(stranger).checked_in_at is not None


def test_another_organiser_cannot_undo_at_an_event_they_do_not_run(client, login, door, make_user):
    event, ann, _ben = door
    login(make_user(role="organiser"))
    response = submit(client, "/organiser/", {}, post_path=undo_path(event, ann))
    assert response.status_code == 404
    assert fresh(ann).checked_in_at is not None


def test_undo_without_the_csrf_token_is_refused(client, login, organiser, door):
    event, ann, _ben = door
    login(organiser)
    response = client.post(undo_path(event, ann), data={})
    assert response.status_code == 400
    assert fresh(ann).checked_in_at is not None


def test_two_undos_at_the_same_moment_undo_once_and_the_other_is_told(
    app, client, login, organiser, door, writers_meet
):
    event, ann, _ben = door
    login(organiser)
    other = app.test_client()  # the organiser's second phone at the door
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    submit(other, "/account/login", {"email": organiser.email, "password": PASSWORD})
    browsers = [client, other]
    tokens = [csrf_token_from(b.get(check_in_path(event)).get_data(as_text=True)) for b in browsers]
    path = undo_path(event, ann)
    writers_meet(2)  # both have found the registration before either writes
    statuses = []

    def press(browser, token):
        statuses.append(browser.post(path, data={"csrf_token": token}).status_code)

    threads = [
        threading.Thread(target=press, args=pair) for pair in zip(browsers, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [302, 302]
    assert fresh(ann).checked_in_at is None
    said = [browser.get(check_in_path(event)).get_data(as_text=True) for browser in browsers]
    assert sum("Check-in undone: Ann Arbor" in html for html in said) == 1
    assert (
        sum("Ann Arbor is not checked in: there is nothing to undo." in html for html in said) == 1
    )


def test_undo_is_in_the_organisers_language(client, login, make_user, make_event, register):
    japanese = make_user(role="organiser", locale="ja")
    event = make_event(by=japanese)
    ann = register(event, 1, name="山田 花子")
    services.check_in(event, ann.ticket_code)
    login(japanese)
    html = client.get(check_in_path(event)).get_data(as_text=True)
    assert "チェックインを取り消す" in html
    response = submit(
        client, check_in_path(event), {}, post_path=undo_path(event, ann), follow_redirects=True
    )
    assert "山田 花子さんのチェックインを取り消しました。" in response.get_data(as_text=True)
