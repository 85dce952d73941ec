"""Sponsorships as a purpose of payments: what happens to a sponsorship when its money arrives
(by card, or a bank transfer recorded against its invoice), its checkout expires, or its money
goes back.

These run inside the payments transaction that records the event (no commits here); the
sponsorship's row is locked first. Money for a sponsorship that no longer holds its place (its
checkout expired, its invoice lapsed, it was cancelled) is answered "not fulfilled": payments
then refunds a card payment in full, and refuses to record a transfer (the money goes back by
hand).
"""

from __future__ import annotations

from community.core.db import utcnow
from community.payments.fulfilment import Fulfilment
from community.payments.models import Order
from community.sponsorship.models import Sponsorship
from community.sponsorship.services import end_sponsorship, locked_sponsorship, tell_contacts


def _sponsorship(order: Order) -> Sponsorship | None:
    if not order.reference.isdigit():
        return None
    sponsorship = locked_sponsorship(int(order.reference))
    if sponsorship is None or sponsorship.order_id != order.id:
        return None
    return sponsorship


def sponsorship_paid(order: Order):
    sponsorship = _sponsorship(order)
    if sponsorship is None or sponsorship.status not in ("awaiting_payment", "invoiced"):
        return False, None
    sponsorship.transition("paid", utcnow())
    tell_contacts(sponsorship, "paid")
    return True, None


def sponsorship_expired(order: Order):
    """The checkout ended unpaid (its time ran out, or the payment was refused): the place goes
    back, and the contacts may start again from the partners' page."""
    sponsorship = _sponsorship(order)
    if sponsorship is None or sponsorship.status != "awaiting_payment":
        return None
    end_sponsorship(sponsorship, "expired")
    tell_contacts(sponsorship, "expired")
    return None


def sponsorship_refunded(order: Order, refunded_minor: int, full: bool):
    """All of a sponsorship's money back ends it: its logo leaves the wall, its place goes."""
    sponsorship = _sponsorship(order)
    if sponsorship is None or not full or sponsorship.status != "paid":
        return None
    end_sponsorship(sponsorship, "cancelled")
    tell_contacts(sponsorship, "cancelled")
    return None


# Registered as the "sponsorship" purpose's handler from sponsorship's init_app.
SPONSORSHIP_FULFILMENT = Fulfilment(sponsorship_paid, sponsorship_expired, sponsorship_refunded)
