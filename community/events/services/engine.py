"""The registration engine's moving parts, for every service that changes who holds a place:
the event's lock, the counters, the waiting list's promotion and telling people. Other domains
(sponsorship's places, vouchers) use these too, never the tables directly.

Every transaction that changes who holds a place runs in a unit of work (core/transaction.py)
and starts by writing to the event's row (`lock_event`): on PostgreSQL that row lock serialises
the event's writers, on SQLite the transaction is already a writer (BEGIN IMMEDIATE). Places are
then taken with conditional UPDATEs on the counters (core/capacity.py), whose row counts decide,
and CHECK constraints back them. Reading a count and then inserting would oversell on both
databases. People are told by notices written in the same transaction (`tell`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import Enum
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update

from community.core.capacity import claim, release
from community.core.db import db
from community.core.errors import NotFound
from community.core.transaction import write_transaction
from community.events.models import Event, Registration, TicketType
from community.events.notify import Notification, send_notification
from community.events.offers import release_voucher

__all__ = [
    "EventLock",
    "Take",
    "config_delta",
    "enter_holding_status",
    "let_go",
    "lock_event",
    "promote_waiting",
    "registration_under_lock",
    "release_place",
    "take_place",
    "take_place_for",
    "tell",
]


class Take(Enum):
    TAKEN = "taken"
    TICKET_FULL = "ticket_full"
    EVENT_FULL = "event_full"


class EventLock(NamedTuple):
    """What the event's row held when this transaction took its lock."""

    places_taken: int
    capacity: int | None
    status: str

    @property
    def full(self) -> bool:
        """No place can be taken at this moment."""
        return self.capacity is not None and self.places_taken >= self.capacity


def lock_event(event_id: int) -> EventLock:
    """Write to the event's row first: from here on this transaction owns the event's places."""
    row = db.session.execute(_LOCK_EVENT, {"event_id": event_id}).first()
    if row is None:
        raise NotFound(_l("There is no such event."))
    return EventLock(*row)


# Built once: the first statement of every registration's transaction, and a plain UPDATE of
# the table (no object in the session is changed by writing a counter onto itself).
_events = Event.__table__
_LOCK_EVENT = (
    update(_events)
    .where(_events.c.id == bindparam("event_id"))
    .values(places_taken=_events.c.places_taken)
    .returning(_events.c.places_taken, _events.c.capacity, _events.c.status)
)


def take_place(event_id: int, ticket_type_id: int, *, outside_quota: bool = False) -> Take:
    """One place of the ticket type and of the event, or neither (under the event's lock).
    `outside_quota` (a voucher's place): of the event only."""
    if not outside_quota and not claim(
        TicketType.taken, TicketType.quota, TicketType.id == ticket_type_id
    ):
        return Take.TICKET_FULL
    if not claim(Event.places_taken, Event.capacity, Event.id == event_id):
        if not outside_quota:
            release(TicketType.taken, TicketType.id == ticket_type_id)
        return Take.EVENT_FULL
    return Take.TAKEN


def take_place_for(registration: Registration) -> Take:
    return take_place(
        registration.event_id,
        registration.ticket_type_id,
        outside_quota=registration.outside_quota,
    )


def release_place(registration: Registration) -> None:
    if not registration.outside_quota:
        release(TicketType.taken, TicketType.id == registration.ticket_type_id)
    release(Event.places_taken, Event.id == registration.event_id)


def let_go(registration: Registration, status: str, moment: datetime) -> bool:
    """End a registration ("cancelled" or "expired") under its event's lock: the place it held
    and the voucher it used go back. True if it held a place (the caller then promotes)."""
    held = registration.holds_place
    registration.transition(status, moment)
    if held:
        release_place(registration)
    release_voucher(registration)
    return held


def config_delta(key: str, unit: str) -> timedelta:
    return timedelta(**{unit: current_app.config[key]})


def enter_holding_status(registration: Registration, moment: datetime) -> str:
    """Free tickets are confirmed; paid ones wait for payment with the place held."""
    if registration.price_minor == 0:
        registration.transition("confirmed", moment)
        return "confirmed"
    registration.transition("awaiting_payment", moment)
    registration.hold_expires_at = moment + config_delta("PAYMENT_HOLD_MINUTES", "minutes")
    return "awaiting_payment"


def promote_waiting(event_id: int, moment: datetime) -> list[int]:
    """Give free places to the waiting list, first come first served, in this transaction, and
    tell each person promoted; returns their registration ids.

    A free ticket is confirmed at once; a paid one is offered for WAITLIST_OFFER_HOURS. Someone
    whose ticket type is full is skipped (the next person may want another ticket type).
    """
    waiting = db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event_id, Registration.status == "waitlisted")
        .order_by(Registration.queued_at, Registration.id)
    ).all()
    promoted: list[int] = []
    for registration in waiting:
        outcome = take_place_for(registration)
        if outcome is Take.EVENT_FULL:
            break
        if outcome is Take.TICKET_FULL:
            continue
        if registration.price_minor == 0:
            registration.transition("confirmed", moment)
            tell("promoted", registration.id)
        else:
            registration.transition("offered", moment)
            registration.offer_expires_at = moment + config_delta("WAITLIST_OFFER_HOURS", "hours")
            tell("offered", registration.id)
        promoted.append(registration.id)
    return promoted


def tell(kind: str, registration_id: int, **extra) -> None:
    """E-mail the person what happened (a key of notify.SUBJECTS), in this transaction's outbox."""
    send_notification(Notification(kind, registration_id, extra))


@contextmanager
def registration_under_lock(registration_id: int) -> Iterator[Registration]:
    """A unit of work owning the registration's event: yields the registration re-read under
    the lock; commits at the end (what was told goes out with it)."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_l("There is no such registration."))
    event_id = registration.event_id
    with write_transaction():
        lock_event(event_id)
        yield db.session.get(Registration, registration_id, populate_existing=True)
