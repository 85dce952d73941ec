"""Tickets: the check-in at the door and the private manage link of a registration."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from community.core.db import db, utcnow
from community.core.errors import DomainError, NotFound
from community.events.models import Event, Registration

__all__ = ["check_in", "find_registration_by_token", "manage_token", "rotate_manage_token"]


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


def manage_token(registration: Registration) -> str:
    """The secret in a registration's manage link: an HMAC of its id and nonce (never stored)."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"manage:{registration.id}:{registration.manage_nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def find_registration_by_token(registration_id: int, token: str) -> Registration | None:
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        return None
    if not hmac.compare_digest(manage_token(registration), (token or "")[:64]):
        return None
    return registration


def rotate_manage_token(registration: Registration) -> None:
    registration.manage_nonce = secrets.token_hex(8)
    db.session.commit()
