"""Tickets: the check-in at the door and the private manage link of a registration.

A manage link is the whole credential for one registration (the address it was made with is
not: anyone may type an address). Replacing it makes the old link answer 404 at once, and the
new one goes only to the registration's address, never to whoever asked for it.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from community.core.db import db, utcnow
from community.core.errors import DomainError, NotFound
from community.core.mail import send_mail
from community.core.transaction import replace_secret, write_transaction
from community.events.links import manage_token, manage_url
from community.events.models import Event, Registration

__all__ = [
    "check_in",
    "find_registration_by_token",
    "manage_token",
    "replace_manage_link",
    "rotate_manage_token",
]


def check_in(event: Event, code: str) -> tuple[Registration, datetime | None]:
    """Check a confirmed attendee in by ticket code. Returns the registration and, if they were
    already checked in, when."""
    code = (code or "").strip()
    if not code.isprintable() or len(code) > 64:
        # PostgreSQL refuses NUL in text; any unprintable code is simply not a ticket of ours.
        raise NotFound(_l("There is no such ticket for this event."), field="code")
    registration = db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.ticket_code == code
        )
    )
    if registration is None:
        raise NotFound(_l("There is no such ticket for this event."), field="code")
    if registration.status != "confirmed":
        raise DomainError(_l("This ticket is not confirmed."), field="code")
    moment = utcnow()
    claimed = db.session.execute(
        update(Registration)
        .where(Registration.id == registration.id, Registration.checked_in_at.is_(None))
        .values(checked_in_at=moment)
    )
    db.session.commit()
    db.session.refresh(registration)
    if claimed.rowcount == 1:
        return registration, None
    return registration, registration.checked_in_at


# --- the manage link -----------------------------------------------------------------------------


def find_registration_by_token(registration_id: int, token: str) -> Registration | None:
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        return None
    # Bytes: compare_digest refuses str with non-ASCII characters, which anyone can type.
    if not hmac.compare_digest(manage_token(registration).encode(), (token or "")[:64].encode()):
        return None
    return registration


def rotate_manage_token(registration: Registration, read_nonce: str | None = None) -> bool:
    """Give the registration a new manage link: the old one answers 404 from now on.

    Conditional on the nonce this request read, so that of two simultaneous replacements only
    one succeeds (the other returns False: its link was already dead) and no e-mail carries a
    link that a moment later stops working.
    """
    return replace_secret(
        registration, "manage_nonce", secrets.token_hex(16), read_value=read_nonce
    )


def replace_manage_link(registration: Registration) -> bool:
    """Replace the manage link and e-mail the new one to the registration's address (and only
    there: neither the person who asked nor an organiser sees it). False when another request
    replaced it first. The new link and its e-mail are written in one transaction: a link is
    never replaced without its e-mail."""
    read_nonce = registration.manage_nonce  # as this request saw it, before the unit re-reads
    with write_transaction():
        if not rotate_manage_token(registration, read_nonce):
            return False
        event = registration.event
        language = registration.locale if registration.locale in ("ja", "en") else "ja"
        title = getattr(event, f"title_{language}") or event.title_ja or event.title_en
        send_mail(
            registration.email,
            _l("Your new registration link: %(title)s", title=title),
            "events/manage_link",
            language,
            registration=registration,
            event=event,
            title=title,
            manage_url=manage_url(registration),
        )
    return True
