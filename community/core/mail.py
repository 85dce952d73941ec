"""The one place that sends e-mail: text and HTML, in the recipient's language, through SMTP.

Without MAIL_SERVER (development), each message is written to the log and to instance/mail/ as an
.eml file instead. Callers pass a template name under templates/mail/ and a lazily translated
subject; both are rendered under the recipient's locale. Further parts (files, or a third version
of the body such as a calendar invitation) come in as `Attachment`s; what they hold is the
caller's business.
"""

from __future__ import annotations

import email.errors
import logging
import smtplib
import threading
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale

from community.core.db import utcnow
from community.core.text import one_line

log = logging.getLogger(__name__)
# Seconds after the answer by which a message sent "after the response" leaves at the latest.
AFTER_RESPONSE_AT_THE_LATEST = 1.0


@dataclass(frozen=True)
class Attachment:
    """A part beyond the text and HTML bodies: a file attached to the message or, with
    `alternative`, one more version of the body itself, placed after the HTML inside
    multipart/alternative (where mail clients look for a calendar invitation). An alternative
    has no file name: `filename` is used only for an attached file."""

    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] | None = None
    alternative: bool = False


class MailError(Exception):
    """The SMTP server refused or could not be reached."""


def build_message(
    to: str,
    subject,
    template: str,
    language: str,
    attachments: tuple[Attachment, ...] = (),
    **context,
) -> EmailMessage:
    with force_locale(language):
        text = render_template(f"mail/{template}.txt", language=language, **context)
        html = render_template(f"mail/{template}.html", language=language, **context)
        # Subjects carry titles and names that people typed: one line, whatever they hold.
        subject_text = one_line(str(subject))
    message = EmailMessage()
    message["Subject"] = subject_text
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = one_line(to)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="community.local")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # Alternatives first: once a file is attached the message is multipart/mixed, and
    # add_alternative() would no longer reach the multipart/alternative inside it.
    for alternative in (part for part in attachments if part.alternative):
        message.add_alternative(
            alternative.content,
            maintype=alternative.maintype,
            subtype=alternative.subtype,
            params=alternative.params or {},
        )
    for attachment in (part for part in attachments if not part.alternative):
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=attachment.params or {},
        )
    # Last: set_content() and add_attachment() move or drop Content-* headers set before them.
    message["Content-Language"] = language
    return message


def send_mail(
    to: str,
    subject,
    template: str,
    language: str = "ja",
    attachments: tuple[Attachment, ...] = (),
    **context,
) -> bool:
    """Send one message; a failure is logged, not raised: the action that sent it still stands.

    Callers send after their change is committed, so nothing here may turn that change into an
    error page: a message that cannot even be built (an address the mail library refuses) is
    logged and dropped like one the server refused.
    """
    try:
        message = build_message(to, subject, template, language, attachments, **context)
    except (ValueError, TypeError, email.errors.MessageError) as error:
        log.error("could not build %r for %s: %s", template, to, error)
        return False
    try:
        deliver(message)
    except MailError:
        return False
    return True


def deliver(message: EmailMessage) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        _write_to_outbox(message)
        return
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    try:
        with smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        ) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.error("could not send %r to %s: %s", message["Subject"], message["To"], error)
        raise MailError(str(error)) from error


def _write_to_outbox(message: EmailMessage) -> None:
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
    (outbox / name).write_bytes(bytes(message))
    body = message.get_body(preferencelist=("plain",))
    log.info(
        "mail (not sent, no MAIL_SERVER) to %s: %s -> %s\n%s",
        message["To"],
        message["Subject"],
        outbox / name,
        body.get_content() if body else "",
    )


def send_mail_after_response(
    to: str,
    subject,
    template: str,
    language: str = "ja",
    attachments: tuple[Attachment, ...] = (),
    **context,
) -> None:
    """Like send_mail, but the SMTP conversation starts only once the response has gone out.

    The message is built now, while the request's database objects can still be read; it is
    delivered when the WSGI server closes the response after writing its last byte (gunicorn,
    Werkzeug's server; the test client when the response is closed). So the answer takes no longer
    for sending a message, and a page that sends one only sometimes (sign-up, password reset) does
    not tell which time it was. Outside a request (CLI, jobs) the message is delivered at once.
    A failure is logged, never raised: by then nobody is waiting for the answer.
    """
    from email.errors import MessageError

    from flask import after_this_request, has_request_context

    try:
        message = build_message(to, subject, template, language, attachments, **context)
    except (ValueError, TypeError, MessageError) as error:
        # As in send_mail: the caller's change is committed; a message that cannot be built
        # must not turn it into an error page.
        log.error("could not build %r for %s: %s", template, to, error)
        return
    app = current_app._get_current_object()

    def deliver_logging_failures() -> None:
        with app.app_context():
            try:
                deliver(message)
            except MailError:
                return  # deliver() has logged it
            except Exception:
                log.exception("could not send %r to %s", message["Subject"], message["To"])

    if not has_request_context():
        deliver_logging_failures()
        return

    once = threading.Lock()

    def deliver_once() -> None:
        if once.acquire(blocking=False):  # the close and the timer below: whichever comes first
            deliver_logging_failures()

    @after_this_request
    def deliver_when_closed(response):
        response.call_on_close(deliver_once)
        # Werkzeug's development server (make run, the browser tests) closes a response only once
        # the browser has let go of the connection, which may be much later: never wait longer
        # than a moment for it. The answer has been handed over by then either way.
        timer = threading.Timer(AFTER_RESPONSE_AT_THE_LATEST, deliver_once)
        timer.daemon = True
        timer.start()
        return response
