"""Paying for a ticket: a registration awaiting payment, or offered a freed place, is sent to the
checkout of the payments package; the verified webhook then confirms it (events/fulfilment.py).

The event's lock is held only to move the registration's status and hold; Stripe is called after
the commit, never while a lock is held.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l

from community.core.db import db, utcnow
from community.core.errors import Busy, DomainError
from community.events.models import Registration
from community.events.services.registration import (
    Notification,
    _promote,
    _registration_under_lock,
    _release_place,
)
from community.payments import services as payments

__all__ = [
    "HoldExpired",
    "cancel_by_person",
    "checkout_for_registration",
    "close_checkout_of",
    "confirm_if_paid",
    "payment_page_for",
    "refund_after_cancelling",
    "refund_registration",
]


class HoldExpired(DomainError):
    """The place held (or offered) for payment is gone: say so, and what the person can do."""

    code = "hold_expired"
    http_status = 410


HOLD_EXPIRED_MESSAGE = _l(
    "The time to pay for the place held for you has run out, so the place was released. "
    "You can register again on the event page; if the event is full, you can join the "
    "waiting list there."
)

# Stripe refuses a Checkout Session that expires sooner than 30 minutes after it is made.
SHORTEST_CHECKOUT = timedelta(minutes=31)


def checkout_for_registration(registration_id: int, *, success_url: str, cancel_url: str) -> str:
    """The address of the payment page for this registration (the same one on a second click).

    A hold whose time has run out is not paid any more, even if the cron job has not released it
    yet: it is released now (its checkout closed at Stripe first) and HoldExpired says so.
    """
    moment = utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is not None and _hold_ran_out(registration, moment):
        _release_overdue_hold(registration_id)
    with _registration_under_lock(registration_id) as (registration, _notifications):
        if registration.event.status == "cancelled":
            raise DomainError(_l("This event is cancelled: there is nothing to pay."))
        if _hold_ran_out(registration, moment) or registration.status == "expired":
            raise HoldExpired(HOLD_EXPIRED_MESSAGE)
        if registration.status == "offered":
            offer_ends = registration.offer_expires_at
            registration.transition("awaiting_payment", moment)
            registration.hold_expires_at = max(offer_ends, moment + SHORTEST_CHECKOUT)
        elif registration.status == "awaiting_payment":
            registration.hold_expires_at = max(
                registration.hold_expires_at, moment + SHORTEST_CHECKOUT
            )
        else:
            raise DomainError(_l("There is nothing to pay for this registration."))
        hold = registration.hold_expires_at
        values = {
            "purpose": "ticket",
            "reference": str(registration.id),
            "amount_minor": registration.price_minor,
            "currency": registration.currency,
            "email": registration.email,
            "description": registration.event.title_en or registration.event.title_ja,
            "expires_at": hold,
            "user_id": registration.user_id,
        }
    order = payments.open_order(**values)
    try:
        return payments.start_checkout(order, success_url=success_url, cancel_url=cancel_url)
    except DomainError:
        _release_after_failed_checkout(registration_id)
        raise


def _hold_ran_out(registration: Registration, moment) -> bool:
    if registration.status == "awaiting_payment":
        return registration.hold_expires_at <= moment
    if registration.status == "offered":
        return registration.offer_expires_at <= moment
    return False


def _release_overdue_hold(registration_id: int) -> None:
    """What the cron job would do for this one registration: close the checkout at Stripe, then
    release the place (a payment that went through at the last moment confirms it instead)."""
    registration = db.session.get(Registration, registration_id)
    if (
        registration.status == "awaiting_payment"
        and payments.close_checkouts("ticket", str(registration_id)) != "closed"
    ):
        return  # paid meanwhile (now confirmed), or Stripe unsure: the job decides later
    moment = utcnow()
    with _registration_under_lock(registration_id) as (registration, notifications):
        if not _hold_ran_out(registration, moment):
            return
        kind = "hold_expired" if registration.status == "awaiting_payment" else "offer_expired"
        registration.transition("expired", moment)
        _release_place(registration)
        if registration.event.status != "cancelled":
            _promote(registration.event_id, moment, notifications)
        notifications.append(Notification(kind, registration.id))


def close_checkout_of(registration_id: int) -> str:
    """Close the registration's checkout at Stripe before its place is given up (see
    `payments.close_checkouts`); refuses, changing nothing, when Stripe cannot be asked."""
    outcome = payments.close_checkouts("ticket", str(registration_id))
    if outcome == "unknown":
        raise Busy(
            _l(
                "The payment provider could not be reached to close your payment page, so "
                "nothing has changed. Please try again in a moment."
            )
        )
    return outcome


def payment_page_for(registration) -> str:
    """Where a registration awaiting payment pays; coming back lands on its manage page."""
    from community.core.urls import external_url
    from community.events.services.tickets import manage_token

    here = external_url(
        "events.manage", registration_id=registration.id, token=manage_token(registration)
    )
    return checkout_for_registration(registration.id, success_url=here + "?paid=1", cancel_url=here)


def _release_after_failed_checkout(registration_id: int) -> None:
    """Stripe could not open a payment page: the held place goes to the next person."""
    with _registration_under_lock(registration_id) as (registration, notifications):
        if registration.status != "awaiting_payment":
            return
        moment = utcnow()
        registration.transition("expired", moment)
        _release_place(registration)
        _promote(registration.event_id, moment, notifications)
        notifications.append(Notification("hold_expired", registration.id))


def confirm_if_paid(registration) -> bool:
    """The buyer is back from the payment page: ask Stripe (not the browser) whether it was paid,
    and confirm at once if so. True when something changed."""
    if registration.status != "awaiting_payment":
        return False
    return payments.sync_checkouts("ticket", str(registration.id))


def refund_registration(
    registration_id: int, amount_minor: int | None, *, cancel: bool, by_user_id: int | None
) -> None:
    """An organiser gives money back for a ticket: all that is left, or part of it.

    A full refund cancels the registration when Stripe confirms it (events/fulfilment.py); for a
    part, the organiser chooses whether the person keeps the place.
    """
    order = payments.paid_order_for("ticket", str(registration_id))
    if order is None:
        raise DomainError(_l("There is no payment to refund for this registration."))
    left = payments.refundable_minor(order)
    payments.refund_order(order, amount_minor, reason="organiser", by_user_id=by_user_id)
    partial = amount_minor is not None and amount_minor < left
    if cancel and partial:
        from community.events.services.registration import cancel_registration

        cancel_registration(registration_id, by_organiser=True, refund_rest=False)


def cancel_by_person(registration_id: int) -> bool:
    """The person cancels (before the event's deadline, or leaves the waiting list); a paid
    ticket is refunded as the event's policy says (`refund_percent`) — also one whose payment
    arrived while it was being cancelled. True if a refund started."""
    from community.events.services.registration import cancel_registration

    registration = cancel_registration(registration_id)
    share = registration.event.refund_percent
    return refund_after_cancelling(
        registration_id, share=share, reason=f"cancelled before the deadline ({share}%)"
    )


def refund_after_cancelling(
    registration_id: int, *, share: int, reason: str, tell: bool = False
) -> bool:
    """Give back `share` percent of what is left of a cancelled ticket's payment, if any (and
    with `tell`, e-mail the person that it is on its way). True if a refund started."""
    order = payments.paid_order_for("ticket", str(registration_id))
    if order is None:
        return False
    amount = payments.refundable_minor(order) * share // 100
    if amount <= 0:
        return False
    currency = order.currency
    payments.refund_order(order, amount, reason=reason)
    if tell:
        from community.events.fulfilment import send_refund_mail

        send_refund_mail(registration_id, "cancelled", amount, currency)
    return True
