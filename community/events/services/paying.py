"""Paying for a ticket: a registration awaiting payment, or offered a freed place, is sent to the
checkout of the payments package; the verified webhook then confirms it (events/fulfilment.py).
The registration points at the order of its current payment (`order_id`); every order of it
also carries its id as the order's reference, which is how its earlier orders are found.
Refunds of tickets (by the organisers, on cancelling) and what the manage page shows of the money.

The event's lock is held only to move the registration's status and hold; Stripe is called after
the commit, never while a lock is held. Each action that moves money tells the person once, in
the e-mail of the action (notify.one_email_each).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from community.accounts.models import User
from community.core.db import db, utcnow
from community.core.errors import Busy, DomainError
from community.core.i18n import current_language
from community.core.money import format_money
from community.core.urls import external_url
from community.events.facts import facts_of
from community.events.links import manage_token
from community.events.models import Registration
from community.events.notify import MoneyNews, tell_refund
from community.events.offers import MembersOnly, join_url, price_for
from community.events.services.engine import (
    let_go,
    promote_waiting,
    registration_under_lock,
    tell,
)
from community.payments import services as payments

__all__ = [
    "HoldExpired",
    "PaidTicket",
    "PriceChanged",
    "RefundLine",
    "TicketMoney",
    "checkout_for_registration",
    "close_checkout_of",
    "confirm_if_paid",
    "payment_page_for",
    "refund_after_cancelling",
    "refundable_by_registration",
    "ticket_money",
]

log = logging.getLogger(__name__)


class HoldExpired(DomainError):
    """The place held (or offered) for payment is gone: say so, and what the person can do."""

    code = "hold_expired"
    http_status = 410


HOLD_EXPIRED_MESSAGE = _l(
    "The time to pay for the place held for you has run out, so the place was released. "
    "You can register again on the event page; if the event is full, you can join the "
    "waiting list there."
)


class PriceChanged(DomainError):
    """What the person pays has changed since they registered (their membership ended, or
    began): the new price is recorded, and they are told before they pay it."""

    code = "price_changed"
    http_status = 409


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
    elif registration is not None:
        _price_again(registration)
    with registration_under_lock(registration_id) as registration:
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
        # The order is opened in this transaction, so the registration points at it (by
        # foreign key) from the moment it exists; its reference stays the registration's id.
        order = payments.open_order(
            purpose="ticket",
            reference=str(registration.id),
            amount_minor=registration.price_minor,
            currency=registration.currency,
            email=registration.email,
            description=registration.event.title_en or registration.event.title_ja,
            expires_at=registration.hold_expires_at,
            user_id=registration.user_id,
        )
        registration.order_id = order.id
    try:
        return payments.start_checkout(order, success_url=success_url, cancel_url=cancel_url)
    except DomainError:
        _release_after_failed_checkout(registration_id)
        raise


def _price_again(registration: Registration) -> None:
    """The price is asked again when the payment is made: a member's price, or a members-only
    ticket, holds only while the membership does. A price that changed is recorded (the old
    checkout closed at Stripe first) and PriceChanged tells the person before they pay; a
    members-only ticket whose holder is no longer a member is not paid (the hold stays until
    it runs out, so that they can renew first). A voucher's price was the voucher's to give and
    stays; a new price of nothing is left to the organisers (the place is not given for free
    behind their back)."""
    if registration.status not in ("awaiting_payment", "offered") or registration.voucher_kind:
        return
    event = facts_of(registration.event.slug)
    ticket = next(
        (t for t in (event.ticket_types if event else ()) if t.id == registration.ticket_type_id),
        None,
    )
    if ticket is None:
        return
    user = db.session.get(User, registration.user_id) if registration.user_id else None
    try:
        price = price_for(event, ticket, user, registration.email)
    except MembersOnly as error:
        where = join_url()
        raise MembersOnly(
            _l(
                "This ticket is for members only, and your membership has ended. Renew it at "
                "%(url)s, then pay here before your place is released.",
                url=where,
            )
            if where
            else error.message,
            field="ticket_type",
        ) from error
    if price == registration.price_minor or price == 0:
        return
    outcome = payments.close_checkouts("ticket", str(registration.id))
    if outcome == "paid":
        return  # paid meanwhile, at the price it was opened with: now confirmed
    if outcome != "closed":
        raise Busy(
            _l(
                "The payment provider could not be reached to close your payment page, so "
                "nothing has changed. Please try again in a moment."
            )
        )
    with registration_under_lock(registration.id) as locked:
        if locked.status not in ("awaiting_payment", "offered"):
            return
        earlier = locked.price_minor
        locked.price_minor = price
        currency = locked.currency
    language = current_language()
    raise PriceChanged(
        _l(
            "The price of your ticket is now %(price)s instead of %(earlier)s, because your "
            "membership has changed since you registered. Press the button again to pay the "
            "new price.",
            price=format_money(price, currency, language),
            earlier=format_money(earlier, currency, language),
        )
    )


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
    with registration_under_lock(registration_id) as registration:
        if not _hold_ran_out(registration, moment):
            return
        kind = "hold_expired" if registration.status == "awaiting_payment" else "offer_expired"
        let_go(registration, "expired", moment)
        if registration.event.status != "cancelled":
            promote_waiting(registration.event_id, moment)
        tell(kind, registration.id)


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
    here = external_url(
        "events.manage", registration_id=registration.id, token=manage_token(registration)
    )
    return checkout_for_registration(registration.id, success_url=here + "?paid=1", cancel_url=here)


def _release_after_failed_checkout(registration_id: int) -> None:
    """Stripe could not open a payment page: the held place goes to the next person."""
    with registration_under_lock(registration_id) as registration:
        if registration.status != "awaiting_payment":
            return
        moment = utcnow()
        let_go(registration, "expired", moment)
        promote_waiting(registration.event_id, moment)
        tell("hold_expired", registration.id)


def confirm_if_paid(registration) -> bool:
    """The buyer is back from the payment page: ask Stripe (not the browser) whether it was paid,
    and confirm at once if so. True when something changed."""
    if registration.status != "awaiting_payment":
        return False
    return payments.sync_checkouts("ticket", str(registration.id))


def refund_after_cancelling(
    registration_id: int, *, share: int, reason: str, tell: bool = False
) -> bool:
    """Give back `share` percent of what is left of a cancelled ticket's payment, if any (and
    with `tell`, say what becomes of the money: in the cancellation's e-mail inside
    `one_email_each`, else in an e-mail of its own). True if a refund started."""
    order = payments.paid_order_for("ticket", str(registration_id))
    if order is None:
        return False
    left = payments.refundable_minor(order)
    amount = left * share // 100
    news = MoneyNews(
        currency=order.currency,
        paid_minor=left,
        refund_minor=amount,
        share=None if share >= 100 else share,
        reason="registration_cancelled",
    )
    started = False
    if amount > 0:
        try:
            refund = payments.refund_order(
                order, amount, reason=reason, interactive=False, tell_buyer=False
            )
        except DomainError as error:
            log.error("registration %s: refund not started: %s", registration_id, error)
            news.failed = True
        else:
            # Unanswered, it is recorded and asked for again (reconcile): on its way all the same.
            news.failed = refund.status == "failed"
        started = not news.failed
    if tell and left > 0:
        tell_refund(registration_id, news)
    return started


def refundable_by_registration(registration_ids) -> dict[int, int]:
    """What can still be refunded of each of these registrations' payments (only those with
    something left)."""
    left = payments.refundable_for("ticket", [str(i) for i in registration_ids])
    return {int(reference): amount for reference, amount in left.items()}


# --- what the manage page shows of the money -----------------------------------------------------


@dataclass(frozen=True)
class RefundLine:
    amount_minor: int
    status: str  # pending (asked, on its way), succeeded, failed
    asked_at: datetime
    settled_at: datetime | None


@dataclass(frozen=True)
class PaidTicket:
    """One payment that went through: what was paid, when, its receipt, and its refunds."""

    amount_minor: int
    currency: str
    paid_at: datetime | None
    receipt_url: str | None
    refunds: tuple[RefundLine, ...]

    @property
    def refunded_minor(self) -> int:
        return sum(r.amount_minor for r in self.refunds if r.status != "failed")


@dataclass(frozen=True)
class TicketMoney:
    paid: tuple[PaidTicket, ...]
    # The newest attempt to pay failed (the person may try again while the place is held).
    last_attempt_failed: bool


def ticket_money(registration: Registration) -> TicketMoney:
    """What was paid for this registration, what went back, and whether the last try failed."""
    orders = payments.orders_for("ticket", str(registration.id))
    paid = tuple(
        PaidTicket(
            amount_minor=order.amount_minor,
            currency=order.currency,
            paid_at=order.paid_at,
            receipt_url=next(
                (p.receipt_url for p in order.payments if p.status == "paid" and p.receipt_url),
                None,
            ),
            refunds=tuple(
                RefundLine(r.amount_minor, r.status, r.created_at, r.settled_at)
                for r in order.refunds
            ),
        )
        for order in reversed(orders)
        if order.status in ("paid", "partially_refunded", "refunded")
    )
    return TicketMoney(paid=paid, last_attempt_failed=bool(orders) and orders[0].status == "failed")
