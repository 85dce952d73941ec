"""Nobody learns who has an account: sign-up and password reset answer with the same page after
the same work for a known and an unknown address, and their e-mail leaves only after the answer.

No timing here (too noisy for a unit test): the same work is shown by what is done, the number
of password hashes and the SQL statements, and "after the answer" by the real SMTP server of
tests/conftest.py, which has nothing until the response is closed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pytest
from flask import template_rendered
from sqlalchemy import event, select
from werkzeug import security

from community.accounts import services
from community.accounts.models import User
from community.core.db import db
from tests.conftest import PASSWORD, IsolatedClient, csrf_token_from, free_port, submit, text_of

KNOWN = "taken@example.com"
UNKNOWN = "newcomer@example.com"
CSRF_VALUE = re.compile(r'name="csrf_token"( type="hidden")? value="[^"]*"')


def _sign_up_data(email: str) -> dict:
    return {
        "name": "Hanako Yamada",
        "email": email,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "locale": "en",
    }


def _without_csrf_and_address(page: str, address: str) -> str:
    # The CSRF tokens carry the second they were made in: the only part allowed to differ.
    return CSRF_VALUE.sub('name="csrf_token" value=""', page).replace(address, "ADDRESS")


def _answer(client, page_path: str, data: dict, address: str) -> tuple:
    """What the person sees: the status, where it sends them, and both pages' text."""
    response = submit(client, page_path, data)
    followed = client.get(response.headers["Location"])
    return (
        response.status_code,
        response.headers["Location"],
        _without_csrf_and_address(response.get_data(as_text=True), address),
        followed.status_code,
        _without_csrf_and_address(followed.get_data(as_text=True), address),
    )


def test_sign_up_answers_the_same_for_a_known_and_an_unknown_address(client, make_user, mailbox):
    make_user(email=KNOWN)
    known = _answer(client, "/account/signup", _sign_up_data(KNOWN), KNOWN)
    unknown = _answer(client, "/account/signup", _sign_up_data(UNKNOWN), UNKNOWN)
    assert known == unknown
    assert known[:2] == (302, "/account/check-inbox")
    # The mailbox's owner is told which it was, and nobody else.
    assert "already has one" in text_of(mailbox.last_to(KNOWN))
    assert "/account/confirm/" in text_of(mailbox.last_to(UNKNOWN))


def test_password_reset_answers_the_same_for_a_known_and_an_unknown_address(
    client, make_user, mailbox
):
    make_user(email=KNOWN)
    known = _answer(client, "/account/reset", {"email": KNOWN}, KNOWN)
    unknown = _answer(client, "/account/reset", {"email": UNKNOWN}, UNKNOWN)
    assert known == unknown
    assert known[:2] == (302, "/account/login")
    assert [m["To"] for m in mailbox.messages] == [KNOWN]


@dataclass
class Done:
    hashes: int
    statements: list[tuple[str, str]]
    templates: list[str]


class _Work:
    """What one request did: password hashes made, SQL statements sent (verb and table), and
    templates rendered (the e-mail's, since the answer is a redirect)."""

    STATEMENT = re.compile(r"^\s*(\w+)\b.*?\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.I | re.S)

    def __init__(self, monkeypatch) -> None:
        self.done = Done(0, [], [])
        self.recording = False
        real_hash = security.generate_password_hash

        def counting_hash(*args, **kwargs):
            if self.recording:
                self.done.hashes += 1
            return real_hash(*args, **kwargs)

        monkeypatch.setattr(services, "generate_password_hash", counting_hash)
        event.listen(db.engine, "before_cursor_execute", self._record_statement)
        template_rendered.connect(self._record_template)

    def _record_statement(self, conn, cursor, statement, parameters, context, many) -> None:
        match = self.STATEMENT.match(statement)
        if self.recording and match:
            self.done.statements.append((match.group(1).upper(), match.group(2)))

    def _record_template(self, sender, template, context, **extra) -> None:
        if self.recording:
            self.done.templates.append(template.name)

    def of_post(self, client, page_path: str, data: dict) -> Done:
        page = client.get(page_path)
        self.done, self.recording = Done(0, [], []), True
        client.post(page_path, data={"csrf_token": csrf_token_from(page.text), **data})
        self.recording = False
        return self.done

    def stop(self) -> None:
        event.remove(db.engine, "before_cursor_execute", self._record_statement)
        template_rendered.disconnect(self._record_template)


@pytest.fixture
def work(app, monkeypatch):
    recorder = _Work(monkeypatch)
    yield recorder
    recorder.stop()


def test_sign_up_hashes_the_password_and_writes_the_same_way_for_a_known_address(
    client, make_user, work
):
    make_user(email=KNOWN)
    known = work.of_post(client, "/account/signup", _sign_up_data(KNOWN))
    unknown = work.of_post(client, "/account/signup", _sign_up_data(UNKNOWN))
    assert known.hashes == unknown.hashes == 1
    assert known.statements == unknown.statements
    assert ("INSERT", "users") in known.statements
    # One message made either way ("you already have an account", or the confirmation link).
    assert known.templates == [
        "mail/accounts/already_registered.txt",
        "mail/accounts/already_registered.html",
    ]
    assert unknown.templates == ["mail/accounts/confirm.txt", "mail/accounts/confirm.html"]
    # Only the unknown address was kept.
    assert set(db.session.scalars(select(User.email))) == {KNOWN, UNKNOWN}


def test_password_reset_does_the_same_work_for_a_known_and_an_unknown_address(
    client, make_user, work
):
    make_user(email=KNOWN)
    known = work.of_post(client, "/account/reset", {"email": KNOWN})
    unknown = work.of_post(client, "/account/reset", {"email": UNKNOWN})
    # The message is made for an unknown address too, and dropped.
    assert known == unknown
    assert known.templates == ["mail/accounts/reset.txt", "mail/accounts/reset.html"]


@pytest.mark.parametrize("address", [KNOWN, UNKNOWN])
def test_asking_again_for_a_confirmation_link_does_the_same_work_for_any_address(
    client, make_user, work, address
):
    make_user(email="unconfirmed@example.com", email_confirmed_at=None)
    make_user(email=KNOWN)
    unconfirmed = work.of_post(
        client, "/account/confirm/resend", {"email": "unconfirmed@example.com"}
    )
    other = work.of_post(client, "/account/confirm/resend", {"email": address})
    assert unconfirmed == other
    assert other.templates == ["mail/accounts/confirm.txt", "mail/accounts/confirm.html"]


class _OpenClient(IsolatedClient):
    close_responses = False


def _browser(app) -> IsolatedClient:
    """A client that, unlike a server, leaves each response open until the test closes it."""
    browser = _OpenClient(app, app.response_class, use_cookies=True)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return browser


def _post_and_keep_open(browser, page_path: str, data: dict):
    with browser.get(page_path) as page:
        token = csrf_token_from(page.text)
    return browser.post(page_path, data={"csrf_token": token, **data})


@pytest.mark.parametrize("address", [KNOWN, UNKNOWN])
def test_sign_up_mail_leaves_only_after_the_answer_is_sent(app, make_user, mailbox, address):
    make_user(email=KNOWN)
    response = _post_and_keep_open(_browser(app), "/account/signup", _sign_up_data(address))
    assert response.status_code == 302
    assert response.get_data()  # the whole answer is here, and the SMTP server has nothing yet
    assert mailbox.messages == []
    response.close()  # what the server does once the last byte is sent
    assert [m["To"] for m in mailbox.messages] == [address]


def test_password_reset_mail_leaves_only_after_the_answer_is_sent(app, make_user, mailbox):
    make_user(email=KNOWN)
    response = _post_and_keep_open(_browser(app), "/account/reset", {"email": KNOWN})
    assert response.status_code == 302
    assert response.get_data()
    assert mailbox.messages == []
    response.close()
    assert [m["To"] for m in mailbox.messages] == [KNOWN]


def test_mail_the_smtp_server_refuses_after_the_answer_is_logged_not_raised(
    app, client, mailbox, caplog
):
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="community.core.mail"):
        response = submit(client, "/account/signup", _sign_up_data(UNKNOWN))
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/check-inbox"
    assert f"to {UNKNOWN}" in caplog.text
    assert mailbox.messages == []
    # The account stands, and the confirmation link can be asked for again.
    assert db.session.scalar(select(User).where(User.email == UNKNOWN)) is not None


def test_mail_sent_outside_a_request_leaves_at_once(app, make_user, mailbox):
    user = make_user(email="cli@example.com", email_confirmed_at=None)
    services.send_confirmation(user)
    assert [m["To"] for m in mailbox.messages] == ["cli@example.com"]
