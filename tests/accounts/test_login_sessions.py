"""Login sessions: each sign-in is a row whose key the browser's session and "remember me" cookies
carry, so that log-out, a password change and "sign out everywhere" end copied cookies too."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask_login.utils import encode_cookie
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from community.accounts.models import LoginSession, User
from community.core.db import db, utcnow
from tests.conftest import PASSWORD, submit

NEW_PASSWORD = "another long password"


def _log_in(browser, user, remember: bool = False):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = submit(browser, "/account/login", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _signed_in(browser) -> bool:
    response = browser.get("/account/profile")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def _copy_of(app, browser, cookie: str):
    """Another browser holding only a copy of one of this browser's cookies."""
    other = app.test_client()
    other.set_cookie(cookie, browser.get_cookie(cookie).value)
    return other


def _sessions_of(user) -> int:
    return db.session.scalar(
        select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
    )


def test_a_copied_session_cookie_stops_working_after_log_out(app, client, make_user, login):
    login(make_user())
    copy = _copy_of(app, client, "session")
    assert _signed_in(copy)
    submit(client, "/", {}, post_path="/account/logout")
    assert not _signed_in(client)
    assert not _signed_in(copy)


def test_a_copied_remember_me_cookie_stops_working_after_log_out(app, client, make_user, login):
    user = make_user()
    login(user, remember=True)
    copy = _copy_of(app, client, "remember_token")
    assert _signed_in(copy)
    submit(client, "/", {}, post_path="/account/logout")
    assert not _signed_in(copy)
    assert _sessions_of(user) == 0


def test_a_browser_back_with_only_its_remember_me_cookie_is_still_signed_in(
    app, client, make_user, login
):
    login(make_user(), remember=True)
    # The browser was closed: the session cookie is gone, the remember-me cookie stays.
    client.delete_cookie("session")
    assert _signed_in(client)
    fresh = _copy_of(app, client, "remember_token")
    assert _signed_in(fresh)


def test_password_change_signs_out_every_other_session_and_remember_me_cookie(
    app, client, make_user, login
):
    user = make_user()
    login(user)
    stolen_here = _copy_of(app, client, "session")
    phone = app.test_client()
    _log_in(phone, user, remember=True)
    phone_remembered = _copy_of(app, phone, "remember_token")
    assert all(_signed_in(b) for b in (client, stolen_here, phone, phone_remembered))

    response = submit(
        client,
        "/account/profile",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
        post_path="/account/profile/password",
    )
    assert response.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(phone)
    assert not _signed_in(phone_remembered)
    # This browser's session has a new key: a copy taken before the change no longer works.
    assert not _signed_in(stolen_here)
    assert _sessions_of(user) == 1


def test_password_change_gives_this_browser_a_new_remember_me_cookie(app, client, make_user, login):
    user = make_user()
    login(user, remember=True)
    old_remember = _copy_of(app, client, "remember_token")
    submit(
        client,
        "/account/profile",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
        post_path="/account/profile/password",
    )
    assert not _signed_in(old_remember)
    client.delete_cookie("session")
    assert _signed_in(client)  # with the new remember-me cookie alone


def test_sign_out_everywhere_signs_out_every_other_session_and_remember_me_cookie(
    app, client, make_user, login
):
    user = make_user()
    login(user, remember=True)
    laptop = app.test_client()
    _log_in(laptop, user)
    phone = app.test_client()
    _log_in(phone, user, remember=True)
    phone_remembered = _copy_of(app, phone, "remember_token")
    old_remember_here = _copy_of(app, client, "remember_token")
    assert "Sign out everywhere else" in client.get("/account/profile").text

    response = submit(
        client, "/account/profile", {}, post_path="/account/profile/sign-out-everywhere"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/profile#sessions"
    page = client.get("/account/profile").text
    assert "You are signed out on every other device." in page
    assert not any(_signed_in(b) for b in (laptop, phone, phone_remembered, old_remember_here))
    client.delete_cookie("session")
    assert _signed_in(client)  # this browser's own remember-me cookie was renewed
    assert _sessions_of(user) == 1


def test_sign_out_everywhere_without_a_valid_form_changes_nothing(app, client, make_user, login):
    user = make_user()
    login(user)
    laptop = app.test_client()
    _log_in(laptop, user)
    response = client.post("/account/profile/sign-out-everywhere", data={"csrf_token": "junk"})
    assert response.status_code in (302, 400)
    assert _signed_in(client) and _signed_in(laptop)


def test_sign_out_everywhere_is_in_japanese_for_a_japanese_reader(client, make_user, login):
    login(make_user(locale="ja"))
    assert "ほかのすべての端末からログアウト" in client.get("/account/profile").text


def test_password_reset_by_e_mail_ends_every_session(app, client, make_user, login):
    from community.accounts import services

    user = make_user()
    login(user, remember=True)
    remembered = _copy_of(app, client, "remember_token")
    token = services.make_token(
        "reset", {"uid": user.id, "pw": services._fingerprint(user.password_hash)}
    )
    done = submit(
        app.test_client(),
        f"/account/reset/{token}",
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert not _signed_in(client)
    assert not _signed_in(remembered)
    assert _sessions_of(user) == 0


def test_account_deletion_removes_the_login_sessions(app, client, make_user, login):
    user = make_user()
    login(user, remember=True)
    other = app.test_client()
    _log_in(other, user)
    assert _sessions_of(user) == 2
    submit(client, "/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert _sessions_of(user) == 0
    assert not _signed_in(other)


def test_a_login_session_expires_with_the_remember_me_cookie(app, client, make_user, login):
    with time_machine.travel(utcnow(), tick=False) as traveller:
        login(make_user(), remember=True)
        lifetime = app.config["REMEMBER_COOKIE_DURATION"]
        traveller.shift(timedelta(seconds=lifetime) - timedelta(minutes=1))
        assert _signed_in(_copy_of(app, client, "remember_token"))
        traveller.shift(timedelta(minutes=2))
        assert not _signed_in(_copy_of(app, client, "remember_token"))
        assert not _signed_in(client)


def test_signing_in_sweeps_the_persons_expired_sessions(app, client, make_user, login):
    user = make_user()
    old = utcnow() - timedelta(seconds=app.config["REMEMBER_COOKIE_DURATION"], days=1)
    db.session.add(LoginSession(user_id=user.id, key_hash="0" * 64, created_at=old))
    db.session.commit()
    login(user)
    assert _sessions_of(user) == 1


def test_the_database_keeps_only_a_hash_of_the_key(client, make_user, login):
    user = make_user()
    login(user, remember=True)
    row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    cookies = client.get_cookie("remember_token").value + client.get_cookie("session").value
    assert len(row.key_hash) == 64
    assert row.key_hash not in cookies


@pytest.mark.parametrize("remember_cookie", ["garbage", "1|abc", "x" * 3000, "%00|%00", "|"])
def test_a_forged_remember_me_cookie_signs_nobody_in(app, make_user, remember_cookie):
    make_user()
    browser = app.test_client()
    browser.set_cookie("remember_token", remember_cookie)
    assert not _signed_in(browser)


def test_a_remember_me_cookie_from_before_login_sessions_signs_nobody_in(app, make_user):
    # Before login_sessions the cookie carried "<user id>:<session version>", signed.
    user = make_user()
    browser = app.test_client()
    browser.set_cookie("remember_token", encode_cookie(f"{user.id}:{user.session_version}"))
    assert not _signed_in(browser)


def test_two_login_sessions_cannot_share_a_key(app, make_user):
    user = make_user()
    db.session.add_all(
        [LoginSession(user_id=user.id, key_hash="a" * 64, created_at=utcnow()) for _ in range(2)]
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_login_sessions_go_with_their_user_row(client, make_user, login):
    user = make_user()
    user_id = user.id
    login(user)
    db.session.expunge_all()
    db.session.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert db.session.get(User, user_id) is None
