"""Gifts as a purpose of payments: a gift's first payment confirmed, its checkout expired, money
given back (of its first payment or of any later month), and a monthly gift's later life at Stripe
(each month's payment, a failed one, a pause or a new amount, its end).

These run inside the payments transaction that records the event (no commits here); the gift's row
is locked first. Each confirmed payment becomes one `DonationPayment` (its ledger payment's id is
unique there), so a repeated or late event never counts money twice. The donor's e-mails are written
to the outbox in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from community.core.db import db, utcnow
from community.donations import services
from community.donations.models import RUNNING, Donation, DonationPayment
from community.payments.fulfilment import Fulfilment
from community.payments.models import Order, Payment, Subscription


def _donation(order: Order) -> Donation | None:
    donation_id = services.parse_reference(order.reference)
    if donation_id is None:
        return None
    donation = services.locked(donation_id)
    if donation is None or donation.order_id != order.id:
        return None
    return donation


def _counted_campaign(donation: Donation, moment: datetime) -> int | None:
    """The campaign a payment counts toward: the gift's, while that campaign runs."""
    campaign = donation.campaign
    if campaign is None or not campaign.runs_at(moment):
        return None
    return campaign.id


def _record_payment(donation: Donation, payment: Payment, counted_at: datetime) -> bool:
    known = db.session.scalar(
        select(DonationPayment.id).where(DonationPayment.payment_id == payment.id)
    )
    if known is not None:
        return False
    db.session.add(
        DonationPayment(
            donation_id=donation.id,
            payment_id=payment.id,
            counted_campaign_id=_counted_campaign(donation, counted_at),
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            refunded_minor=0,
            paid_at=utcnow(),
        )
    )
    db.session.flush()
    return True


def _settling_payment(order: Order) -> Payment | None:
    return next(
        (p for p in order.payments if p.status == "paid" and p.kind != "renewal"),
        None,
    )


def donation_paid(order: Order):
    donation = _donation(order)
    if donation is None or donation.status != "pending":
        # A gift abandoned before its money came (its checkout closed too late): given back.
        return False, None
    payment = _settling_payment(order)
    if payment is None:
        return False, None
    moment = utcnow()
    donation.transition("active" if donation.is_monthly else "paid", moment)
    # A gift made while its campaign ran counts toward it, even if its payment came just after.
    _record_payment(donation, payment, donation.created_at)
    services.tell(
        donation.id, "monthly_started" if donation.is_monthly else "thanks", payment_id=payment.id
    )
    return True, None


def donation_expired(order: Order):
    donation = _donation(order)
    if donation is not None and donation.status == "pending":
        donation.transition("abandoned", utcnow())
    return None


def donation_refunded(order: Order, refunded_minor: int, full: bool):
    """The order's refunds so far come off its first payment (the one its checkout paid, the
    one payments refunds): totals and the wall follow at once."""
    donation = _donation(order)
    payment = _settling_payment(order)
    if donation is None or payment is None:
        return None
    row = db.session.scalar(select(DonationPayment).where(DonationPayment.payment_id == payment.id))
    if row is not None:
        row.refunded_minor = min(max(refunded_minor, row.refunded_minor), row.amount_minor)
    return None


def monthly_payment_refunded(order: Order, payment: Payment):
    """Money back of one month of a monthly gift (not its first): that month's payment follows,
    and with it the totals, the campaign's progress and its match."""
    if _donation(order) is None:
        return None
    row = db.session.scalar(select(DonationPayment).where(DonationPayment.payment_id == payment.id))
    if row is not None:
        row.refunded_minor = min(max(payment.refunded_minor, row.refunded_minor), row.amount_minor)
    return None


def donation_refund_started(order: Order, amount_minor: int):
    # refund_order asks this outside any transaction (before Stripe is asked): read the gift,
    # never lock it, or the refund's own write transactions find the session written to.
    donation_id = services.parse_reference(order.reference)
    donation = db.session.get(Donation, donation_id) if donation_id is not None else None
    if donation is None or donation.order_id != order.id:
        return None
    donation_id = donation.id

    def tell() -> None:
        services.tell(donation_id, "refunded", amount_minor=amount_minor)

    return tell


def _latest_renewal(order: Order) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.kind == "renewal", Payment.status == "paid")
        .order_by(Payment.id.desc())
        .limit(1)
    )


def monthly_renewed(order: Order, subscription: Subscription):
    donation = _donation(order)
    payment = _latest_renewal(order)
    if donation is None or payment is None:
        return None
    moment = utcnow()
    if donation.status == "past_due":
        donation.transition("active", moment)
    if _record_payment(donation, payment, moment):
        services.tell(donation.id, "monthly_paid", payment_id=payment.id)
    return None


def monthly_past_due(order: Order, subscription: Subscription):
    donation = _donation(order)
    if donation is None or donation.status not in ("active", "paused"):
        return None
    donation.transition("past_due", utcnow())
    services.tell(donation.id, "past_due")
    return None


def monthly_changed(order: Order, subscription: Subscription):
    """A pause, a resumption or a new amount, asked by the donor here or made in Stripe's
    dashboard: the gift follows the subscription, and the donor hears of it once."""
    donation = _donation(order)
    if donation is None or donation.status not in RUNNING:
        return None
    moment = utcnow()
    amount = subscription.amount_minor or order.amount_minor
    if amount != donation.amount_minor:
        previous = donation.amount_minor
        donation.amount_minor = amount
        donation.updated_at = moment
        services.tell(donation.id, "amount_changed", previous_minor=previous)
    if subscription.paused and donation.status != "paused":
        donation.transition("paused", moment)
        services.tell(donation.id, "paused")
    elif not subscription.paused and donation.status == "paused":
        donation.transition("past_due" if subscription.status == "past_due" else "active", moment)
        services.tell(donation.id, "resumed")
    elif subscription.status == "active" and donation.status == "past_due":
        donation.transition("active", moment)
    return None


def monthly_ended(order: Order, subscription: Subscription):
    donation = _donation(order)
    if donation is None or donation.status not in RUNNING:
        return None
    cancelled = donation.cancel_requested_at is not None
    donation.transition("cancelled" if cancelled else "ended", utcnow())
    services.tell(donation.id, "cancelled" if cancelled else "ended")
    return None


DONATION_FULFILMENT = Fulfilment(
    paid=donation_paid,
    expired=donation_expired,
    refunded=donation_refunded,
    refund_started=donation_refund_started,
    payment_refunded=monthly_payment_refunded,
    renewed=monthly_renewed,
    past_due=monthly_past_due,
    changed=monthly_changed,
    ended=monthly_ended,
)
