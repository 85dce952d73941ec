"""E-mail: one module, text and HTML, the recipient's language, SMTP or the development outbox."""

from __future__ import annotations

import logging
from email import message_from_bytes, policy

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from community.core import outbox as outbox_module
from community.core.db import db
from community.core.mail import Attachment, send_mail
from community.core.outbox import OutboxItem
from tests.conftest import free_port, html_of, text_of

CONTEXT = {
    "user": type("Person", (), {"name": "Hanako"})(),
    "confirm_url": "http://localhost/account/confirm/abc",
    "hours": 48,
}


def test_mail_goes_through_smtp_with_text_and_html_in_the_recipients_language(app, mailbox):
    assert send_mail(
        "ja@example.com", _l("Confirm your e-mail address"), "accounts/confirm", "ja", **CONTEXT
    )
    assert send_mail(
        "en@example.com", _l("Confirm your e-mail address"), "accounts/confirm", "en", **CONTEXT
    )
    japanese = mailbox.last_to("ja@example.com")
    english = mailbox.last_to("en@example.com")
    assert japanese["Subject"] == "メールアドレスの確認"
    assert "Hanakoさん、こんにちは。" in text_of(japanese)
    assert '<html lang="ja">' in html_of(japanese)
    assert japanese["Content-Language"] == "ja"
    assert english["Subject"] == "Confirm your e-mail address"
    assert "Hello Hanako," in text_of(english)
    assert "http://localhost/account/confirm/abc" in html_of(english)


def test_attachments_travel_with_the_message(app, mailbox):
    attachment = Attachment(
        "event.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text", "calendar"
    )
    send_mail("x@example.com", "Subject", "accounts/confirm", "en", (attachment,), **CONTEXT)
    message = mailbox.last_to("x@example.com")
    parts = list(message.iter_attachments())
    assert [part.get_filename() for part in parts] == ["event.ics"]
    assert parts[0].get_content_type() == "text/calendar"


def test_without_smtp_settings_messages_go_to_the_log_and_the_outbox(make_app, tmp_path, caplog):
    outbox = tmp_path / "mail"
    app = make_app(MAIL_SERVER="", MAIL_OUTBOX_DIR=str(outbox))
    with app.app_context(), caplog.at_level(logging.INFO, logger="community.core.mail"):
        assert send_mail("dev@example.com", "Hello", "accounts/confirm", "en", **CONTEXT)
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1
    saved = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert saved["To"] == "dev@example.com"
    assert "http://localhost/account/confirm/abc" in caplog.text


def test_an_unreachable_smtp_server_is_logged_and_the_message_waits_in_the_outbox(make_app, caplog):
    # Since issue 11 nothing is lost: the message stays in the outbox for the next attempt.
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    with app.app_context(), caplog.at_level(logging.ERROR, logger="community.core.mail"):
        written = send_mail("x@example.com", "Hello", "accounts/confirm", "en", **CONTEXT)
        waiting = db.session.scalars(select(OutboxItem)).all()
    assert written is True
    assert "could not send" in caplog.text
    assert [(item.recipient, item.status, item.attempts) for item in waiting] == [
        ("x@example.com", "pending", 1)
    ]


def test_an_alternative_part_goes_after_the_html_and_files_stay_attached(app, mailbox):
    calendar = "BEGIN:VCALENDAR\r\nSUMMARY:勉強会\r\nEND:VCALENDAR\r\n".encode()
    parts = (
        # Listed first on purpose: the order of the tuple does not decide the structure.
        Attachment("invite.ics", calendar, "application", "ics"),
        Attachment(
            "",
            calendar,
            "text",
            "calendar",
            {"charset": "utf-8", "method": "REQUEST"},
            alternative=True,
        ),
    )
    send_mail("x@example.com", "Subject", "accounts/confirm", "en", parts, **CONTEXT)
    message = mailbox.last_to("x@example.com")
    assert message.get_content_type() == "multipart/mixed"
    body, attached = message.iter_parts()
    assert [part.get_content_type() for part in body.iter_parts()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    inline = list(body.iter_parts())[-1]
    assert inline.get_param("method") == "REQUEST"
    assert inline.get_content_charset() == "utf-8"
    assert inline.get_filename() is None and inline.get_content_disposition() is None
    # Calendar data keeps its CRLF line ends and its UTF-8 bytes exactly.
    assert inline.get_payload(decode=True) == calendar
    assert (attached.get_filename(), attached.get_content_type()) == (
        "invite.ics",
        "application/ics",
    )
    assert attached.get_payload(decode=True) == calendar
    # What people read is unchanged.
    assert "Hello Hanako," in text_of(message)
    assert "http://localhost/account/confirm/abc" in html_of(message)
    assert message["Content-Language"] == "en"


def test_without_extra_parts_a_message_is_just_text_and_html(app, mailbox):
    send_mail("x@example.com", "Subject", "accounts/confirm", "en", **CONTEXT)
    message = mailbox.last_to("x@example.com")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_mail_sent_after_the_response_leaves_soon_even_if_the_server_never_closes_it(
    app, mailbox, make_user
):
    """Werkzeug's development server closes a response only when the browser lets go of the
    connection: the message must not wait for that."""
    import time

    from tests.conftest import IsolatedClient, csrf_token_from

    class NeverClosing(IsolatedClient):
        close_responses = False

    user = make_user(email="waiting@example.com")
    browser = NeverClosing(app, app.response_class, use_cookies=True)
    page = browser.get("/account/reset")
    answer = browser.post(
        "/account/reset",
        data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), "email": user.email},
    )
    assert answer.status_code == 302
    started = time.monotonic()
    message = mailbox.last_to(user.email, wait=5)
    assert time.monotonic() - started < 3
    assert "/account/reset/" in text_of(message)
    page.close()
    answer.close()


def test_mail_committed_after_the_timer_fired_still_leaves_when_the_response_closes(
    app, client, mailbox, monkeypatch
):
    """A request that goes on after its first e-mail's timer has fired (a slow refund, say):
    what it commits later still leaves once the answer is out, not only with the worker."""
    import time

    monkeypatch.setattr(outbox_module, "AFTER_RESPONSE_AT_THE_LATEST", 0.05)

    def two_mails():
        send_mail("first@example.com", "First", "accounts/confirm", "en", **CONTEXT)
        time.sleep(0.5)  # the first one's timer fires meanwhile
        send_mail("second@example.com", "Second", "accounts/confirm", "en", **CONTEXT)
        return "sent"

    app.add_url_rule("/test-two-mails", "test_two_mails", two_mails)
    assert client.get("/test-two-mails").status_code == 200  # and closed, as servers do
    assert mailbox.last_to("first@example.com", wait=5)["Subject"] == "First"
    assert mailbox.last_to("second@example.com", wait=5)["Subject"] == "Second"
