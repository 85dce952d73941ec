"""Password reset by e-mail: same answer for any address, a link that works once and expires."""

from __future__ import annotations

import re

import time_machine

from tests.conftest import PASSWORD, link_in, submit

NEW_PASSWORD = "a brand new passphrase"


CSRF_VALUE = re.compile(r'name="csrf_token"( type="hidden")? value="[^"]*"')


def _request_reset(client, address):
    return submit(client, "/account/reset", {"email": address})


def test_reset_flow_changes_the_password_and_signs_out_other_sessions(
    client, app, mailbox, make_user, login
):
    user = make_user(email="reset@example.com")
    other_device = app.test_client()
    login(user)
    old_session_cookie = client.get_cookie("session")
    other_device.set_cookie("session", old_session_cookie.value)
    assert other_device.get("/account/profile").status_code == 200

    response = _request_reset(client, "reset@example.com")
    assert response.status_code == 302
    path = link_in(mailbox.last_to("reset@example.com"), "/account/reset/").removeprefix(
        "http://localhost"
    )
    done = submit(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.headers["Location"] == "/account/login"

    assert other_device.get("/account/profile").status_code == 302
    refused = submit(client, "/account/login", {"email": user.email, "password": PASSWORD})
    assert refused.status_code == 422
    accepted = submit(client, "/account/login", {"email": user.email, "password": NEW_PASSWORD})
    assert accepted.status_code == 302


def test_reset_link_works_only_once(client, mailbox, make_user):
    make_user(email="once@example.com")
    _request_reset(client, "once@example.com")
    path = link_in(mailbox.last_to("once@example.com"), "/account/reset/").removeprefix(
        "http://localhost"
    )
    submit(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    second = client.get(path)
    assert second.status_code == 400
    assert "already been used" in second.get_data(as_text=True)


def test_reset_link_expires_after_an_hour(client, mailbox, make_user):
    make_user(email="late@example.com")
    with time_machine.travel("2026-11-25 10:00:00+00:00", tick=False):
        _request_reset(client, "late@example.com")
    path = link_in(mailbox.last_to("late@example.com"), "/account/reset/").removeprefix(
        "http://localhost"
    )
    with time_machine.travel("2026-11-25 10:59:00+00:00", tick=False):
        assert client.get(path).status_code == 200
    with time_machine.travel("2026-11-25 11:00:01+00:00", tick=False):
        assert client.get(path).status_code == 400


def test_reset_request_answers_the_same_for_unknown_addresses(client, mailbox, make_user):
    make_user(email="known@example.com")
    pages = []
    for address in ("known@example.com", "unknown@example.com"):
        response = _request_reset(client, address)
        assert response.status_code == 302
        pages.append(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "If an account uses this address" in pages[0]
    # The CSRF tokens carry the second they were made in: the only part allowed to differ.
    pages = [CSRF_VALUE.sub('name="csrf_token" value=""', page) for page in pages]
    assert pages[0] == pages[1].replace("unknown@example.com", "known@example.com")
    assert [m["To"] for m in mailbox.messages] == ["known@example.com"]


def test_reset_with_a_short_password_keeps_the_old_one(client, mailbox, make_user):
    make_user(email="short@example.com")
    _request_reset(client, "short@example.com")
    path = link_in(mailbox.last_to("short@example.com"), "/account/reset/").removeprefix(
        "http://localhost"
    )
    response = submit(client, path, {"password": "short", "password_confirm": "short"})
    assert response.status_code == 422
    assert "Use at least 10 characters." in response.get_data(as_text=True)
    ok = submit(client, "/account/login", {"email": "short@example.com", "password": PASSWORD})
    assert ok.status_code == 302
