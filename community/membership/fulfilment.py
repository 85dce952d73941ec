"""Memberships as a purpose of payments: what happens when a join's or a renewal's money
arrives, a checkout expires, money goes back, or a membership's subscription renews, falls past
due, changes or ends at Stripe.

These run inside the payments transaction that records the event (no commits here); the
membership's row is locked first. Money for what can no longer be given (a join abandoned for
another plan, a renewal of a term already paid) is answered "not fulfilled": payments then
refunds it in full. A subscription's renewal extends the membership to the period Stripe
reports (or by a year when it reports none).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from community.core.db import db, utcnow
from community.membership import services
from community.membership.models import BENEFITING, HOLDING, Membership
from community.payments.fulfilment import Fulfilment
from community.payments.models import Order, Payment, Subscription


def _membership(order: Order) -> tuple[Membership | None, int | None, int | None]:
    parsed = services.parse_reference(order.reference)
    if parsed is None:
        return None, None, None
    membership_id, term, plan_id = parsed
    return services.locked_membership(membership_id), term, plan_id


def _settling_payment(order: Order) -> Payment | None:
    return next(
        (p for p in order.payments if p.status == "paid" and p.kind != "renewal"),
        None,
    )


def _latest_renewal(order: Order) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.kind == "renewal", Payment.status == "paid")
        .order_by(Payment.id.desc())
        .limit(1)
    )


def membership_paid(order: Order):
    membership, term, plan_id = _membership(order)
    if membership is None:
        return False, None
    moment = utcnow()
    payment = _settling_payment(order)
    payment_id = payment.id if payment is not None else None
    if term is None:  # a join
        if membership.status != "pending" or membership.order_id != order.id:
            return False, None
        ends_at = _first_end(order, moment)  # read before the row changes (no autoflush)
        membership.transition("active", moment)
        membership.starts_at = moment
        services.set_end(membership, ends_at)
        membership.terms = 1
        services.record(
            membership,
            "joined",
            moment,
            amount_minor=order.amount_minor,
            payment_id=payment_id,
            order_id=order.id,
        )
        services.tell(membership, "welcome", payment_id=payment_id)
        return True, None
    # A renewal of the next term, while the membership is held or just after it ended.
    plan = services.plan_by_id(plan_id)
    if plan is None or term != membership.terms + 1 or not _renewable(membership, moment):
        return False, None
    services.extend(
        membership,
        plan,
        moment,
        amount_minor=order.amount_minor,
        payment_id=payment_id,
        order_id=order.id,
    )
    return True, None


def _renewable(membership: Membership, moment) -> bool:
    if membership.status in BENEFITING:
        return True
    # Paid after it expired (the checkout was opened in the grace): a new term from now, unless
    # the person holds another membership meanwhile.
    return membership.status == "expired" and not _holds_another(membership)


def _holds_another(membership: Membership) -> bool:
    return (
        db.session.scalar(
            select(Membership.id).where(
                Membership.user_id == membership.user_id,
                Membership.id != membership.id,
                Membership.status.in_(HOLDING),
            )
        )
        is not None
    )


def _first_end(order: Order, moment):
    """A subscription's first period as Stripe counts it, else a year."""
    row = db.session.scalar(select(Subscription).where(Subscription.order_id == order.id))
    if row is not None and row.current_period_end is not None and row.current_period_end > moment:
        return row.current_period_end
    return services.one_year_after(moment)


def membership_expired(order: Order):
    """A join's checkout ended unpaid: the pending membership is abandoned (the person may join
    again). A renewal's: nothing to undo."""
    membership, term, _ = _membership(order)
    if membership is None or term is not None or membership.status != "pending":
        return None
    moment = utcnow()
    membership.transition("abandoned", moment)
    services.record(membership, "abandoned", moment)
    return None


def membership_refunded(order: Order, refunded_minor: int, full: bool):
    """Money back is written in the history; all of a join's (or a subscription's) money back
    ends the membership, all of a renewal's takes its year back."""
    membership, term, _ = _membership(order)
    if membership is None:
        return None
    moment = utcnow()
    already = sum(
        -(event.amount_minor or 0)
        for event in membership.history
        if event.kind == "refunded" and event.order_id == order.id
    )
    if refunded_minor > already:
        services.record(
            membership,
            "refunded",
            moment,
            amount_minor=-(refunded_minor - already),
            order_id=order.id,
        )
    if not full or membership.status not in BENEFITING:
        return None
    # Only what this order gave is taken back: a payment that was never fulfilled (a second
    # payment of a term already paid, refunded automatically) gave nothing.
    if term is None and membership.order_id != order.id:
        return None
    if term is not None and not _extended_by(membership, order):
        return None
    if term is None:
        membership.transition("cancelled", moment)
        services.record(membership, "cancelled", moment)
        services.tell(membership, "cancelled")
    else:
        services.set_end(
            membership, max(services.one_year_before(membership.ends_at), membership.starts_at)
        )
    return None


def _extended_by(membership: Membership, order: Order) -> bool:
    return any(
        event.kind == "renewed" and event.order_id == order.id for event in membership.history
    )


def membership_renewed(order: Order, row: Subscription):
    membership, term, _ = _membership(order)
    if membership is None or term is not None or membership.status not in (*BENEFITING, "expired"):
        return None
    moment = utcnow()
    if membership.status == "expired" and _holds_another(membership):
        return None  # Stripe charged a subscription whose member joined another plan: by hand
    payment = _latest_renewal(order)
    held = membership.status in BENEFITING and membership.grace_ends_at > moment
    if row.current_period_end is not None and row.current_period_end > moment:
        ends_at = max(row.current_period_end, membership.ends_at if held else moment)
    else:
        ends_at = services.one_year_after(membership.ends_at if held else moment)
    if membership.status != "active":
        membership.transition("active", moment)
    membership.auto_renew = not row.cancel_at_period_end
    services.set_end(membership, ends_at)
    membership.terms += 1
    services.record(
        membership,
        "renewed",
        moment,
        amount_minor=payment.amount_minor if payment else None,
        payment_id=payment.id if payment else None,
        order_id=order.id,
    )
    services.tell(membership, "renewed", payment_id=payment.id if payment else None)
    return None


def membership_past_due(order: Order, row: Subscription):
    membership, term, _ = _membership(order)
    if membership is None or term is not None or membership.status not in ("active", "in_grace"):
        return None
    moment = utcnow()
    membership.transition("past_due", moment)
    services.record(membership, "past_due", moment)
    services.tell(membership, "past_due")
    return None


def membership_changed(order: Order, row: Subscription):
    """Stripe's word on the subscription: renewal stopped or resumed, back in good standing."""
    membership, term, _ = _membership(order)
    if membership is None or term is not None or membership.status not in BENEFITING:
        return None
    moment = utcnow()
    renews = not row.cancel_at_period_end
    if renews != membership.auto_renew:
        membership.auto_renew = renews
        services.record(membership, "auto_renew_on" if renews else "auto_renew_off", moment)
        services.tell(membership, "auto_renew_on" if renews else "auto_renew_off")
    if row.status == "active" and membership.status == "past_due":
        membership.transition("active", moment)
        services.record(membership, "recovered", moment)
    if row.current_period_end is not None and row.current_period_end > membership.ends_at:
        services.set_end(membership, row.current_period_end)
    membership.updated_at = moment
    return None


def membership_ended(order: Order, row: Subscription):
    """The subscription ended at Stripe (its renewal stopped and its period over, its payments
    failed for good, or cancelled in Stripe's dashboard): so does the membership."""
    membership, term, _ = _membership(order)
    if membership is None or term is not None or membership.status not in BENEFITING:
        return None
    moment = utcnow()
    # Stopped by its member and run to its end, it expired; else it was cut short.
    ran_out = not membership.auto_renew and membership.ends_at <= moment + timedelta(days=1)
    outcome = "expired" if ran_out else "cancelled"
    membership.auto_renew = False
    membership.transition(outcome, moment)
    services.record(membership, outcome, moment)
    services.tell(membership, outcome)
    return None


# Registered as the "membership" purpose's handler from membership's init_app.
MEMBERSHIP_FULFILMENT = Fulfilment(
    membership_paid,
    membership_expired,
    membership_refunded,
    renewed=membership_renewed,
    past_due=membership_past_due,
    changed=membership_changed,
    ended=membership_ended,
)
