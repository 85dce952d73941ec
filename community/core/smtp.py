"""Handing one built message to the SMTP server (or, without MAIL_SERVER in development, to the
log and instance/mail/ as an .eml file). Only the outbox's worker calls this: everything else
writes mail to the outbox (outbox.py), and building messages is mail.py's business."""

from __future__ import annotations

import logging
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from community.core.db import utcnow

# One logger for everything about mail, whichever module writes it.
log = logging.getLogger("community.core.mail")


class MailError(Exception):
    """The SMTP server refused or could not be reached."""


def deliver(message: EmailMessage) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        _write_to_directory(message)
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


def _write_to_directory(message: EmailMessage) -> None:
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
