"""Profile: name, language, e-mail (re-confirmed) and password; export and deletion."""

from __future__ import annotations

import json

from sqlalchemy import select

from community.accounts import services
from community.accounts.models import User
from community.core.db import db
from tests.conftest import PASSWORD, IsolatedClient, link_in, submit, text_of


def test_profile_saves_name_and_language(client, make_user, login):
    user = make_user(locale="en")
    login(user)
    response = submit(
        client, "/account/profile", {"name": "New Name", "locale": "ja"}, "/account/profile"
    )
    assert response.status_code == 302
    assert (user.name, user.locale) == ("New Name", "ja")


def test_profile_with_an_empty_name_shows_the_error_and_changes_nothing(client, make_user, login):
    user = make_user(name="Kept")
    login(user)
    response = submit(client, "/account/profile", {"name": "", "locale": "xx"})
    assert response.status_code == 422
    assert "Enter your name." in response.get_data(as_text=True)
    assert user.name == "Kept"


def test_email_change_takes_effect_only_when_the_new_address_confirms(
    client, mailbox, make_user, login
):
    user = make_user(email="old@example.com")
    login(user)
    response = submit(
        client,
        "/account/profile",
        {"email": "new@example.com", "current_password": PASSWORD},
        post_path="/account/profile/email",
    )
    assert response.status_code == 302
    assert user.email == "old@example.com"
    assert user.pending_email == "new@example.com"

    path = link_in(mailbox.last_to("new@example.com"), "/account/email/").removeprefix(
        "http://localhost"
    )
    assert client.get(path).status_code == 302
    assert user.email == "new@example.com"
    assert user.pending_email is None
    assert "new@example.com" in text_of(mailbox.last_to("old@example.com"))
    assert client.get(path).status_code == 400  # used


def test_email_change_needs_the_current_password(client, mailbox, make_user, login):
    user = make_user(email="keep@example.com")
    login(user)
    response = submit(
        client,
        "/account/profile",
        {"email": "new@example.com", "current_password": "wrong"},
        post_path="/account/profile/email",
    )
    assert response.status_code == 422
    assert "The password is wrong." in response.get_data(as_text=True)
    assert user.pending_email is None
    assert mailbox.messages == []


def test_email_change_to_an_address_in_use_reveals_nothing(client, mailbox, make_user, login):
    make_user(email="other@example.com")
    user = make_user(email="me@example.com")
    login(user)
    response = submit(
        client,
        "/account/profile",
        {"email": "other@example.com", "current_password": PASSWORD},
        post_path="/account/profile/email",
    )
    assert response.status_code == 302
    assert user.email == "me@example.com"
    assert "already has one" in text_of(mailbox.last_to("other@example.com"))


def test_password_change_keeps_this_session_and_ends_the_others(client, app, make_user, login):
    user = make_user()
    login(user)
    other_device = app.test_client()
    other_device.set_cookie("session", client.get_cookie("session").value)
    response = submit(
        client,
        "/account/profile",
        {
            "current_password": PASSWORD,
            "new_password": "another long password",
            "new_password_confirm": "another long password",
        },
        post_path="/account/profile/password",
    )
    assert response.status_code == 302
    assert client.get("/account/profile").status_code == 200
    assert other_device.get("/account/profile").status_code == 302


def test_password_change_with_the_wrong_current_password_is_refused(client, make_user, login):
    user = make_user()
    login(user)
    old_hash = user.password_hash
    response = submit(
        client,
        "/account/profile",
        {
            "current_password": "wrong",
            "new_password": "another long password",
            "new_password_confirm": "another long password",
        },
        post_path="/account/profile/password",
    )
    assert response.status_code == 422
    assert user.password_hash == old_hash


def test_data_export_contains_my_data_and_nobody_elses(client, make_user, login):
    me = make_user(email="me@example.com", name="Me Myself")
    make_user(email="someone@example.com", name="Someone Else")
    login(me)
    response = client.get("/account/export.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "me@example.com"
    assert data["account"]["name"] == "Me Myself"
    body = response.get_data(as_text=True)
    assert "someone@example.com" not in body
    assert "Someone Else" not in body
    assert "password" not in json.dumps(data["account"])


def test_data_export_needs_a_signed_in_person(client):
    response = client.get("/account/export.json")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


def test_account_deletion_anonymises_the_person_and_keeps_the_row(app, client, make_user, login):
    erased = []
    services.personal_data.register(
        app,
        "test_hook",
        services.PersonalData(lambda user: [], lambda user: erased.append(user.id)),
    )
    user = make_user(email="gone@example.com", name="Gone Soon")
    user_id = user.id
    login(user)
    response = submit(
        client, "/account/delete", {"password": PASSWORD, "confirm": "y"}, "/account/delete"
    )
    assert response.status_code == 302

    row = db.session.get(User, user_id)
    assert row is not None  # payment records can still point at it
    assert row.email == f"deleted-{user_id}@deleted.invalid"
    assert row.name == ""
    assert row.password_hash is None
    assert row.deleted_at is not None
    assert erased == [user_id]
    assert db.session.scalar(select(User).where(User.email == "gone@example.com")) is None
    assert client.get("/account/profile").status_code == 302
    refused = submit(client, "/account/login", {"email": "gone@example.com", "password": PASSWORD})
    assert refused.status_code == 422


def test_account_deletion_needs_the_password_and_the_tick(client, make_user, login):
    user = make_user()
    login(user)
    no_tick = submit(client, "/account/delete", {"password": PASSWORD})
    wrong = submit(client, "/account/delete", {"password": "wrong", "confirm": "y"})
    assert no_tick.status_code == wrong.status_code == 422
    assert user.deleted_at is None


def test_a_deleted_address_can_sign_up_again(client, make_user, login, mailbox):
    user = make_user(email="again@example.com")
    login(user)
    submit(client, "/account/delete", {"password": PASSWORD, "confirm": "y"})
    response = submit(
        client,
        "/account/signup",
        {
            "name": "Again",
            "email": "again@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "locale": "en",
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.email == "again@example.com")) is not None


def _profile_page(client, user) -> str:
    """The profile as `user` sees it, once the welcome message is gone (the page is cached)."""
    submit(client, "/account/login", {"email": user.email, "password": PASSWORD})
    client.get("/")
    return client.get("/account/profile").get_data(as_text=True)


def test_the_profile_shows_each_person_their_own_name_and_address(app, make_user):
    """The page is rendered once per language and state and shared: the names and addresses
    put in are each person's own, never the last one's."""
    first = make_user(email="first.person@example.com", name="First Person", locale="en")
    second = make_user(email="second.person@example.com", name="Second <Person>", locale="en")
    app.test_client_class = IsolatedClient  # each request in its own context, as in production
    pages = {}
    for user in (first, second, first):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        pages[user.email] = _profile_page(client, user)
    mine, theirs = pages[first.email], pages[second.email]
    assert "first.person@example.com" in mine and "second.person@example.com" not in mine
    assert 'value="First Person"' in mine and "Second" not in mine
    assert "second.person@example.com" in theirs and "first.person" not in theirs
    assert 'value="Second &lt;Person&gt;"' in theirs and "<Person>" not in theirs


def test_a_new_name_and_a_waiting_address_show_at_once(client, mailbox, make_user, login):
    user = make_user(email="old@example.com", name="Old Name", locale="en")
    login(user)
    client.get("/")
    assert 'value="Old Name"' in client.get("/account/profile").get_data(as_text=True)
    submit(client, "/account/profile", {"name": "New Name", "locale": "en"}, "/account/profile")
    client.get("/account/profile")  # the "saved" message is shown (and gone)
    page = client.get("/account/profile").get_data(as_text=True)
    assert 'value="New Name"' in page and "Waiting for confirmation" not in page
    submit(
        client,
        "/account/profile",
        {"email": "new@example.com", "current_password": PASSWORD},
        "/account/profile/email",
    )
    client.get("/account/profile")
    page = client.get("/account/profile").get_data(as_text=True)
    assert "Waiting for confirmation of new@example.com." in page
    assert "Signed in as old@example.com." in page
