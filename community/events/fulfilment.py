"""Tickets as a purpose of payments: what happens to a registration when its money arrives,
its checkout expires, or its money goes back.

These run inside the payments transaction that records the webhook event (no commits here); the
event's row is locked first, as everywhere in the registration engine. E-mails go after commit.
Money for a place that can no longer be given (cancelled, its hold released, its event
cancelled) is answered "not fulfilled": payments then refunds it in full, and the person is told
here, in their language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from community.core.db import db, utcnow
from community.events.models import Event, Registration
from community.events.notify import mail_registrant
from community.events.services.registration import (
    Notification,
    _lock_event,
    _promote,
    _release_place,
    _send,
)
from community.payments.fulfilment import Fulfilment, register_fulfilment
from community.payments.models import Order

REFUND_SUBJECT = _l("Your payment is being refunded: %(title)s")


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


def _event_cancelled(registration: Registration) -> bool:
    event = db.session.get(Event, registration.event_id, populate_existing=True)
    return event.status == "cancelled"


def ticket_paid(order: Order):
    registration = _registration(order)
    if registration is None:
        return False, None
    event_cancelled = _event_cancelled(registration)
    if registration.status != "awaiting_payment" or event_cancelled:
        # The place is no longer this person's to give (cancelled, its hold released, or the
        # event cancelled): payments refunds the money in full, and we say why.
        reason = "event_cancelled" if event_cancelled else registration.status
        amount = order.amount_minor - order.refunded_minor
        registration_id = registration.id
        return False, lambda: send_refund_mail(registration_id, reason, amount, order.currency)
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
    if not _event_cancelled(registration):
        _promote(registration.event_id, moment, notifications)
    notifications.append(Notification("hold_expired", registration.id))
    return _after(notifications)


def ticket_refunded(order: Order, refunded_minor: int, full: bool):
    registration = _registration(order)
    if registration is None or not full or registration.status != "confirmed":
        return None
    if _event_cancelled(registration):
        # The event's cancellation already told everyone; places in a cancelled event stay as
        # they were for the records and calendars, and nobody is promoted into it.
        return None
    moment = utcnow()
    notifications: list[Notification] = []
    registration.transition("cancelled", moment)
    _release_place(registration)
    _promote(registration.event_id, moment, notifications)
    notifications.append(Notification("cancelled", registration.id))
    return _after(notifications)


def send_refund_mail(registration_id: int, reason: str, amount_minor: int, currency: str) -> bool:
    """Tell the person, in their language, that their money is going back and why: `reason` is
    "cancelled", "expired" (the hold was released first), "event_cancelled", or "confirmed" (a
    second payment for a place already paid for)."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        return False
    return mail_registrant(
        registration,
        REFUND_SUBJECT,
        "events/refund",
        reason=reason,
        amount_minor=amount_minor,
        currency=currency,
    )


def register() -> None:
    register_fulfilment("ticket", Fulfilment(ticket_paid, ticket_expired, ticket_refunded))
