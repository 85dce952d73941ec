"""Sign-up, e-mail confirmation, log-in and log-out."""

from __future__ import annotations

import time_machine
from sqlalchemy import select

from community.accounts.models import User
from community.core.db import db
from tests.conftest import PASSWORD, link_in, submit, text_of

SIGNUP = {
    "name": "Hanako Yamada",
    "email": "Hanako@Example.com",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "locale": "ja",
}


def _sign_up(client, **changes):
    return submit(client, "/account/signup", {**SIGNUP, **changes})


def test_sign_up_then_confirm_then_log_in(client, mailbox):
    response = _sign_up(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/check-inbox"

    user = db.session.scalar(select(User).where(User.email == "hanako@example.com"))
    assert user is not None and not user.is_confirmed
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash

    message = mailbox.last_to("hanako@example.com")
    assert message["Subject"] == "メールアドレスの確認"  # in the language chosen at sign-up
    assert message.get_body(preferencelist=("html",)) is not None
    confirm_url = link_in(message, "/account/confirm/")

    blocked = submit(
        client, "/account/login", {"email": "hanako@example.com", "password": PASSWORD}
    )
    assert blocked.status_code == 422
    assert "Please confirm your e-mail address first" in blocked.get_data(as_text=True)

    confirmed = client.get(confirm_url.removeprefix("http://localhost"))
    assert confirmed.status_code == 302
    assert user.is_confirmed

    logged_in = submit(
        client, "/account/login", {"email": "HANAKO@example.com", "password": PASSWORD}
    )
    assert logged_in.status_code == 302
    # Signed in, the page follows the account's language (ja) over the browser's (en).
    home = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "マイアカウント" in home
    assert client.get("/account/profile").status_code == 200


def test_sign_up_with_an_address_in_use_says_the_same_and_tells_the_owner(
    client, mailbox, make_user
):
    owner = make_user(email="taken@example.com")
    response = _sign_up(client, email="taken@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/check-inbox"
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 1
    assert owner.name != SIGNUP["name"]
    message = mailbox.last_to("taken@example.com")
    assert "already has one" in text_of(message)


def test_sign_up_with_bad_input_shows_field_errors_and_creates_nothing(client, mailbox):
    response = _sign_up(
        client, name="", email="not-an-address", password="short", password_confirm="other"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your name." in html
    assert "Enter a valid e-mail address." in html
    assert "Use at least 10 characters." in html
    assert 'aria-invalid="true"' in html
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 0
    assert mailbox.messages == []


def test_sign_up_errors_are_shown_in_japanese_to_a_japanese_reader(client):
    response = submit(
        client,
        "/account/signup",
        {**SIGNUP, "email": "bad"},
        headers={"Accept-Language": "ja"},
    )
    assert "正しいメールアドレスを入力してください。" in response.get_data(as_text=True)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_user):
    user = make_user()
    wrong_password = submit(client, "/account/login", {"email": user.email, "password": "nope"})
    unknown_email = submit(
        client, "/account/login", {"email": "nobody@example.com", "password": "nope"}
    )
    for response in (wrong_password, unknown_email):
        assert response.status_code == 422
        assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)
    assert client.get("/account/profile").status_code == 302


def test_expired_confirmation_link_is_refused(client, mailbox):
    with time_machine.travel("2026-11-01 10:00:00+00:00", tick=False):
        _sign_up(client)
    url = link_in(mailbox.last_to("hanako@example.com"), "/account/confirm/")
    with time_machine.travel("2026-11-03 10:00:01+00:00", tick=False):
        response = client.get(url.removeprefix("http://localhost"))
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "hanako@example.com"))
    assert not user.is_confirmed


def test_tampered_confirmation_link_is_refused(client, mailbox):
    _sign_up(client)
    url = link_in(mailbox.last_to("hanako@example.com"), "/account/confirm/")
    path = url.removeprefix("http://localhost")
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.get(tampered)
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)
    assert client.get("/account/confirm/garbage").status_code == 400
    user = db.session.scalar(select(User).where(User.email == "hanako@example.com"))
    assert not user.is_confirmed


def test_log_out_is_a_post_and_ends_the_session(client, make_user, login):
    login(make_user())
    assert client.get("/account/logout").status_code == 405
    response = submit(client, "/", {}, post_path="/account/logout")
    assert response.status_code == 302
    assert client.get("/account/profile").status_code == 302


def test_remember_me_sets_a_long_lived_httponly_cookie(client, make_user, login):
    response = login(make_user(), remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]


def test_logging_in_without_remember_me_sets_no_remember_cookie(client, make_user, login):
    response = login(make_user())
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_resend_confirmation_sends_a_new_link_only_to_unconfirmed_accounts(
    client, mailbox, make_user
):
    confirmed = make_user(email="done@example.com")
    _sign_up(client)
    mailbox.clear()
    for address in ("hanako@example.com", confirmed.email, "nobody@example.com"):
        response = submit(client, "/account/confirm/resend", {"email": address})
        assert response.headers["Location"] == "/account/check-inbox"
    assert [m["To"] for m in mailbox.messages] == ["hanako@example.com"]


def test_deleted_accounts_cannot_log_in(client, make_user):
    from community.core.db import utcnow

    user = make_user(deleted_at=utcnow())
    response = submit(client, "/account/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 422


def test_signing_up_from_a_page_brings_the_person_back_to_it_once_confirmed(client, mailbox):
    """A visitor who signs up from a membership plan's page: the confirmation link, then the
    sign-in, lead back to that page."""
    signup_page = client.get("/account/signup?next=/join/student").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/join/student"' in signup_page
    assert "/account/login?next=/join/student" in signup_page  # "Already have an account?"
    _sign_up(client, next="/join/student")
    confirm_url = link_in(mailbox.last_to("hanako@example.com"), "/account/confirm/")
    confirmed = client.get(confirm_url.removeprefix("http://localhost"))
    assert confirmed.headers["Location"] == "/account/login?next=/join/student"
    login_page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    logged_in = submit(
        client,
        "/account/login?next=/join/student",
        {"email": "hanako@example.com", "password": PASSWORD, "next": "/join/student"},
    )
    assert 'value="/join/student"' in login_page
    assert logged_in.headers["Location"] == "/join/student"


def test_a_confirmation_link_never_leads_to_another_site(client, mailbox):
    for target in ("https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com"):
        mailbox.clear()
        db.session.rollback()
        db.session.execute(db.delete(User))
        db.session.commit()
        _sign_up(client, next=target)
        confirm_url = link_in(mailbox.last_to("hanako@example.com"), "/account/confirm/")
        confirmed = client.get(confirm_url.removeprefix("http://localhost"))
        assert confirmed.headers["Location"] == "/account/login"
