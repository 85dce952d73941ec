"""The registration engine's cron jobs: releasing expired holds and offers, and reminders.

Both are safe at any frequency and from several machines at once: rows are re-read under their
event's lock (expiry) or claimed by a conditional UPDATE before the e-mail goes (reminders).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update

from community.core.db import db, utcnow
from community.core.transaction import write_transaction
from community.events.models import Event, Registration
from community.events.services.engine import (
    config_delta,
    let_go,
    lock_event,
    promote_waiting,
    tell,
)
from community.payments import services as payments

__all__ = ["expire_holds_and_offers", "send_reminders"]


def expire_holds_and_offers(moment: datetime | None = None) -> int:
    """Release payment holds and waiting-list offers whose time passed, promoting the next people.

    Safe to run from cron at any frequency and from several machines: each row is re-read under
    its event's lock and only changed if it is still due. Returns how many were released.
    """
    moment = moment or utcnow()
    due = db.session.execute(
        select(Registration.id, Registration.event_id, Registration.status).where(
            or_(
                and_(
                    Registration.status == "awaiting_payment",
                    Registration.hold_expires_at <= moment,
                ),
                and_(
                    Registration.status == "offered",
                    Registration.offer_expires_at <= moment,
                ),
            )
        )
    ).all()
    # A hold is released only once its checkout is closed at Stripe: a payment that went
    # through at the last moment confirms the place instead (and an unclear answer, or a
    # delayed payment still on its way, waits for the next run).
    due = [
        row
        for row in due
        if row.status != "awaiting_payment"
        or payments.close_checkouts("ticket", str(row.id)) == "closed"
    ]
    released = 0
    for event_id in sorted({row.event_id for row in due}):
        ids = [row.id for row in due if row.event_id == event_id]
        with write_transaction():
            released += _release_due(event_id, ids, moment)
    return released


def _release_due(event_id: int, ids: list[int], moment: datetime) -> int:
    """Under the event's lock: release those of `ids` still due, then promote."""
    lock_event(event_id)
    event = db.session.get(Event, event_id, populate_existing=True)
    released = 0
    for registration in db.session.scalars(
        select(Registration)
        .where(Registration.id.in_(ids))
        .execution_options(populate_existing=True)
    ):
        expiry = (
            registration.hold_expires_at
            if registration.status == "awaiting_payment"
            else registration.offer_expires_at
            if registration.status == "offered"
            else None
        )
        if expiry is None or expiry > moment:
            continue
        kind = "hold_expired" if registration.status == "awaiting_payment" else "offer_expired"
        let_go(registration, "expired", moment)
        if event.status != "cancelled":  # its cancellation already told everyone
            tell(kind, registration.id)
        released += 1
    if event.status != "cancelled":  # nobody is promoted into a cancelled event
        promote_waiting(event_id, moment)
    return released


# --- reminders -----------------------------------------------------------------------------------


def send_reminders(moment: datetime | None = None) -> int:
    """Remind confirmed attendees once, REMINDER_HOURS before the start. Cron-safe.

    Each reminder is claimed by a conditional UPDATE in the transaction that writes it to the
    outbox, so two runs at the same moment never send it twice, and it is never lost.
    """
    moment = moment or utcnow()
    horizon = moment + config_delta("REMINDER_HOURS", "hours")
    candidates = db.session.scalars(
        select(Registration.id)
        .join(Event, Event.id == Registration.event_id)
        .where(
            Registration.status == "confirmed",
            Registration.reminder_sent_at.is_(None),
            Event.status == "published",
            Event.starts_at > moment,
            Event.starts_at <= horizon,
        )
    ).all()
    db.session.rollback()
    sent = 0
    for registration_id in candidates:
        with write_transaction():
            claimed = db.session.execute(
                update(Registration)
                .where(Registration.id == registration_id, Registration.reminder_sent_at.is_(None))
                .values(reminder_sent_at=moment)
            )
            if claimed.rowcount == 1:
                tell("reminder", registration_id)
                sent += 1
    return sent
