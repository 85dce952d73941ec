"""Fulfilment by purpose: how payments tells a domain that money arrived, a checkout expired, or
money went back, without knowing what was bought.

A domain registers one handler per purpose at start-up. Handlers run inside the payments
transaction that records the webhook event (or the refund), so the event and its effect are
committed together (or not at all): they must not commit, and they return what to do after the
commit (e-mails).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from community.payments.models import Order

AfterCommit = Callable[[], None]


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


_handlers: dict[str, Fulfilment] = {}


def register_fulfilment(purpose: str, fulfilment: Fulfilment) -> None:
    _handlers[purpose] = fulfilment


def fulfilment_for(purpose: str) -> Fulfilment | None:
    return _handlers.get(purpose)
