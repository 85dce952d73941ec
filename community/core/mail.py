"""The one place that makes e-mail: text and HTML, in the recipient's language, written to the
outbox (outbox.py) in the caller's transaction and sent by its worker through SMTP (smtp.py;
without MAIL_SERVER, in development, to the log and instance/mail/). Callers pass a template
name under templates/mail/ and a lazily translated subject; both are rendered under the
recipient's locale. Further parts (files, or a third version of the body such as a calendar
invitation) come in as `Attachment`s; what they hold is the caller's business.
"""

from __future__ import annotations

import email.errors
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale

from community.core.db import utcnow
from community.core.outbox import enqueue_message
from community.core.smtp import MailError
from community.core.text import one_line

log = logging.getLogger(__name__)
# The address of a message made only so that two answers do the same work (never sent).
NOBODY = "nobody@example.invalid"

__all__ = ["Attachment", "MailError", "build_message", "pretend_to_send_mail", "send_mail"]


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
    """Write one message to the outbox, in the caller's unit of work (or one of its own); the
    worker sends it. False if it cannot even be built (an address the mail library refuses): that
    is logged, and never turns the caller's change into an error page.
    """
    try:
        message = build_message(to, subject, template, language, attachments, **context)
    except (ValueError, TypeError, email.errors.MessageError) as error:
        log.error("could not build %r for %s: %s", template, to, error)
        return False
    enqueue_message(message)
    return True


def pretend_to_send_mail(
    to: str,
    subject,
    template: str,
    language: str = "ja",
    attachments: tuple[Attachment, ...] = (),
    **context,
) -> bool:
    """The same work as send_mail (the message is built and written to the outbox), for a page
    that sends a message only sometimes (sign-up, password reset) and must not tell which time it
    was; the outbox never sends it. Either way the SMTP conversation comes after the answer."""
    try:
        message = build_message(to, subject, template, language, attachments, **context)
    except (ValueError, TypeError, email.errors.MessageError) as error:
        log.error("could not build %r for %s: %s", template, to, error)
        return False
    enqueue_message(message, to_nobody=True)
    return True
