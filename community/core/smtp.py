"""Handing built messages to the SMTP server (or, without MAIL_SERVER in development, to the log
and instance/mail/ as .eml files). Only the outbox's worker calls this: everything else writes
mail to the outbox (outbox.py), and building messages is mail.py's business.

`connection()` opens one SMTP conversation for several messages, as a mail server expects from
a sender with many to send: each message is handed over as the bytes the outbox stored (never
parsed and written out again), with its line endings made CRLF as SMTP requires. A refusal of
one message (its recipient, its size) is that message's failure; a connection that is lost or
never made fails every message still to go through it (`MailError.connection_lost`).
"""

from __future__ import annotations

import logging
import re
import smtplib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from pathlib import Path

from flask import current_app

from community.core.db import utcnow

# One logger for everything about mail, whichever module writes it.
log = logging.getLogger("community.core.mail")
_BARE_LINE_END = re.compile(rb"\r?\n")


class MailError(Exception):
    """The SMTP server refused a message, or could not be reached (`connection_lost`)."""

    def __init__(self, reason: str, *, connection_lost: bool = False) -> None:
        super().__init__(reason)
        self.connection_lost = connection_lost


class Connection:
    """One open SMTP conversation; `send()` hands it one stored message."""

    def __init__(self, smtp: smtplib.SMTP | None, sender: str) -> None:
        self._smtp = smtp
        self._sender = sender

    def send(self, message: bytes, recipient: str) -> None:
        if self._smtp is None:
            _write_to_directory(message)
            return
        recipients = [address for _, address in getaddresses([recipient]) if address]
        try:
            if self._sender.isascii() and all(address.isascii() for address in recipients):
                self._smtp.sendmail(self._sender, recipients, _BARE_LINE_END.sub(b"\r\n", message))
            else:
                # An address beyond ASCII needs SMTPUTF8, which the library's own writer asks for.
                parsed = BytesParser(policy=policy.default).parsebytes(message)
                self._smtp.send_message(parsed, from_addr=self._sender, to_addrs=recipients)
        except (OSError, smtplib.SMTPException) as error:
            raise _failure(error) from error


def _failure(error: OSError | smtplib.SMTPException) -> MailError:
    """A refusal of this one message, or a conversation that cannot go on."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return MailError(
            "; ".join(
                f"{address} refused: {code} {_text(reason)}"
                for address, (code, reason) in error.recipients.items()
            )
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        return MailError(f"sender refused: {error.smtp_code} {_text(error.smtp_error)}")
    if isinstance(error, smtplib.SMTPDataError):
        return MailError(f"refused: {error.smtp_code} {_text(error.smtp_error)}")
    return MailError(str(error) or type(error).__name__, connection_lost=True)


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@contextmanager
def connection() -> Iterator[Connection]:
    """An SMTP conversation for the block; MailError(connection_lost=True) if none can be had."""
    config = current_app.config
    sender = parseaddr(config["MAIL_DEFAULT_SENDER"])[1] or config["MAIL_DEFAULT_SENDER"]
    if not config["MAIL_SERVER"]:
        yield Connection(None, sender)
        return
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    try:
        smtp = smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        )
    except (OSError, smtplib.SMTPException) as error:
        reason = f"{config['MAIL_SERVER']} does not answer: {error or type(error).__name__}"
        raise MailError(reason, connection_lost=True) from error
    try:
        try:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (OSError, smtplib.SMTPException) as error:
            reason = f"{config['MAIL_SERVER']} refused us: {error or type(error).__name__}"
            raise MailError(reason, connection_lost=True) from error
        yield Connection(smtp, sender)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _write_to_directory(message: bytes) -> None:
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
    (outbox / name).write_bytes(message)
    parsed = BytesParser(policy=policy.default).parsebytes(message)
    body = parsed.get_body(preferencelist=("plain",))
    log.info(
        "mail (not sent, no MAIL_SERVER) to %s: %s -> %s\n%s",
        parsed["To"],
        parsed["Subject"],
        outbox / name,
        body.get_content() if body else "",
    )
