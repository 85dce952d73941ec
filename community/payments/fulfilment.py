"""Fulfilment by purpose: how payments tells a domain that money arrived, a checkout expired, or
money went back, without knowing what was bought.

A domain registers one handler per purpose from its `init_app` (`fulfilment_handler.register(app,
"ticket", Fulfilment(…))`). Handlers run inside the payments transaction that records the webhook
event (or the refund), so the event and its effect are committed together (or not at all): they must
not commit, and they return what to do after the commit (e-mails).

Money recorded by hand (a bank transfer against the order's invoice) runs the same `paid`. A
subscription's later life is told through the optional callbacks, each once per change: a renewal
paid (`renewed`), money back of one renewal (`payment_refunded`), a renewal that could not be
charged (`past_due`), any other change at the provider (`changed`: back in good standing, a new
period end, cancellation asked for the end of the period), and its end (`ended`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from community.core.hooks import Hook
from community.payments.models import Order, Payment, Subscription

AfterCommit = Callable[[], None]
SubscriptionCallback = Callable[[Order, Subscription], AfterCommit | None]


@dataclass(frozen=True)
class Fulfilment:
    # Money arrived: give what was bought. Returns False if it can no longer be given: payments
    # then refunds it in full, and the handler's after-commit action tells the buyer why.
    paid: Callable[[Order], tuple[bool, AfterCommit | None]]
    # The checkout ended unpaid: release what was held.
    expired: Callable[[Order], AfterCommit | None]
    # Money went back (amount refunded so far, and whether that is everything).
    refunded: Callable[[Order, int, bool], AfterCommit | None]
    # A refund of this amount is on its way that nobody has told the buyer of: one asked through
    # `refund_order` (an administrator's from the orders pages, an organiser's), or one made in
    # Stripe's dashboard. Returns how to tell the buyer (once). A refund that a domain tells in
    # the words of a larger action (a cancellation) is asked with `tell_buyer=False`.
    refund_started: Callable[[Order, int], AfterCommit | None] | None = None
    # Money went back of one of a subscription's later payments (the order and its first
    # payment are as they were): the payment's refunded_minor is what went back of it so far.
    payment_refunded: Callable[[Order, Payment], AfterCommit | None] | None = None
    # A subscription's life after its first payment (see the module's opening).
    renewed: SubscriptionCallback | None = None
    past_due: SubscriptionCallback | None = None
    changed: SubscriptionCallback | None = None
    ended: SubscriptionCallback | None = None


# Keyed by purpose: "ticket", "sponsorship", "membership", "donation".
fulfilment_handler: Hook[Fulfilment] = Hook("payments.fulfilment")


def fulfilment_for(purpose: str) -> Fulfilment | None:
    return fulfilment_handler.get(purpose)
