"""Tickets as a purpose of payments: what happens to a registration when its money arrives,
its checkout expires or its payment fails, or its money goes back.

These run inside the payments transaction that records the webhook event (no commits here); the
event's row is locked first, as everywhere in the registration engine. E-mails are written to
the outbox in that same transaction.
Money for a place that can no longer be given (cancelled, its hold released, its event
cancelled) is answered "not fulfilled": payments then refunds it in full, and the person is told
here, in their language. A failed payment keeps the place held until the hold ends, so that the
person can try again. A refund is told by whoever asked for it (notify.MoneyNews); one made
outside the app (Stripe's dashboard) or by an administrator is told here (`refund_started`).
"""

from __future__ import annotations

from community.core.db import db, utcnow
from community.events.models import Event, Registration
from community.events.notify import REFUND_SUBJECT, MoneyNews, tell_refund
from community.events.services.engine import let_go, lock_event, promote_waiting, tell
from community.payments import services as payments
from community.payments.fulfilment import Fulfilment
from community.payments.models import Order

__all__ = ["REFUND_SUBJECT", "TICKET_FULFILMENT", "send_refund_mail"]


def _registration(order: Order) -> Registration | None:
    if not order.reference.isdigit():
        return None
    registration = db.session.get(Registration, int(order.reference))
    if registration is None:
        return None
    lock_event(registration.event_id)
    return db.session.get(Registration, registration.id, populate_existing=True)


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
        send_refund_mail(registration.id, reason, amount, order.currency)
        return False, None
    registration.transition("confirmed", utcnow())
    tell("confirmed", registration.id)
    return True, None


def ticket_expired(order: Order):
    """The checkout ended unpaid: its time ran out, or (order failed) the payment was refused.
    A refused payment leaves the place held while the hold lasts: the person may try again."""
    registration = _registration(order)
    if registration is None or registration.status != "awaiting_payment":
        return None
    moment = utcnow()
    failed = order.status == "failed"
    event_cancelled = _event_cancelled(registration)
    if failed and registration.hold_expires_at > moment and not event_cancelled:
        tell("payment_failed", registration.id)
        return None
    let_go(registration, "expired", moment)
    if not event_cancelled:
        promote_waiting(registration.event_id, moment)
    tell("payment_failed" if failed else "hold_expired", registration.id)
    return None


def _still_paid_otherwise(order: Order) -> bool:
    """Whether another payment of this registration still stands (this one was a second
    payment for a place already paid, refunded as such)."""
    other = payments.paid_order_for(order.purpose, order.reference)
    return other is not None and other.id != order.id


def ticket_refunded(order: Order, refunded_minor: int, full: bool):
    """Stripe confirmed money going back. All of a place's payment back cancels the place (its
    holder was told by whoever started the refund, in the same e-mail); part of it keeps it."""
    registration = _registration(order)
    if registration is None or not full or registration.status != "confirmed":
        return None
    if _event_cancelled(registration) or _still_paid_otherwise(order):
        # The event's cancellation already told everyone; places in a cancelled event stay as
        # they were for the records and calendars, and nobody is promoted into it.
        return None
    moment = utcnow()
    let_go(registration, "cancelled", moment)
    promote_waiting(registration.event_id, moment)
    return None


def refund_news(order: Order, registration: Registration, amount_minor: int) -> MoneyNews:
    """The news of a refund of `amount_minor` just recorded for this registration's order:
    whether the person keeps their place or loses it (all they paid goes back)."""
    left = payments.refundable_minor(order)
    place = ""
    if registration.status == "confirmed" and registration.event.status != "cancelled":
        place = "kept" if left > 0 or _still_paid_otherwise(order) else "cancelled"
    return MoneyNews(
        currency=order.currency,
        paid_minor=order.amount_minor,
        refund_minor=amount_minor,
        place=place,
    )


def ticket_refund_started(order: Order, amount_minor: int):
    """An administrator's refund, or one made in Stripe's dashboard: tell the buyer."""
    if not order.reference.isdigit():
        return None
    registration = db.session.get(Registration, int(order.reference))
    if registration is None:
        return None
    news = refund_news(order, registration, amount_minor)
    registration_id = registration.id
    return lambda: tell_refund(registration_id, news)


def send_refund_mail(registration_id: int, reason: str, amount_minor: int, currency: str) -> bool:
    """Tell the person, in their language, that their money is going back and why: `reason` is
    "cancelled", "expired" (the hold was released first), "event_cancelled", or "confirmed" (a
    second payment for a place already paid for). Inside an action's `one_email_each`, it goes
    into that action's e-mail."""
    news = MoneyNews(
        currency=currency, paid_minor=amount_minor, refund_minor=amount_minor, reason=reason
    )
    return tell_refund(registration_id, news)


# Registered as the "ticket" purpose's handler from the events' init_app.
TICKET_FULFILMENT = Fulfilment(
    ticket_paid, ticket_expired, ticket_refunded, refund_started=ticket_refund_started
)
