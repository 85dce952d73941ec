"""Tickets as a purpose of payments: what happens to a registration when its money arrives,
its checkout expires, or its money goes back.

These run inside the payments transaction that records the webhook event (no commits here); the
event's row is locked first, as everywhere in the registration engine. E-mails go after commit.
"""

from __future__ import annotations

from community.core.db import db, utcnow
from community.events.models import Registration
from community.events.services.registration import (
    Notification,
    _lock_event,
    _promote,
    _release_place,
    _send,
)
from community.payments.fulfilment import Fulfilment, register_fulfilment
from community.payments.models import Order


def _registration(order: Order) -> Registration | None:
    if not order.reference.isdigit():
        return None
    registration = db.session.get(Registration, int(order.reference))
    if registration is None:
        return None
    _lock_event(registration.event_id)
    return db.session.get(Registration, registration.id, populate_existing=True)


def _after(notifications: list[Notification]):
    return (lambda: _send(notifications)) if notifications else None


def ticket_paid(order: Order):
    registration = _registration(order)
    if registration is None or registration.status != "awaiting_payment":
        # The hold ended before the money came (or the registration is gone): the place is no
        # longer this person's to give; the order stays paid for a refund.
        return False, None
    registration.transition("confirmed", utcnow())
    return True, _after([Notification("confirmed", registration.id)])


def ticket_expired(order: Order):
    registration = _registration(order)
    if registration is None or registration.status != "awaiting_payment":
        return None
    moment = utcnow()
    notifications: list[Notification] = []
    registration.transition("expired", moment)
    _release_place(registration)
    _promote(registration.event_id, moment, notifications)
    notifications.append(Notification("hold_expired", registration.id))
    return _after(notifications)


def ticket_refunded(order: Order, refunded_minor: int, full: bool):
    registration = _registration(order)
    if registration is None or not full or registration.status != "confirmed":
        return None
    moment = utcnow()
    notifications: list[Notification] = []
    registration.transition("cancelled", moment)
    _release_place(registration)
    _promote(registration.event_id, moment, notifications)
    notifications.append(Notification("cancelled", registration.id))
    return _after(notifications)


def register() -> None:
    register_fulfilment("ticket", Fulfilment(ticket_paid, ticket_expired, ticket_refunded))
