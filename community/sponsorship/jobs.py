"""Sponsorship's timed jobs (core/worker.py runs them; cron can too): invoices whose due date has
passed lapse and free their place, an unpaid invoice is reminded of before it is due, a card
checkout that outlived its hold is closed, contacts are told 30 and 7 days before the end that
they can renew, and complimentary codes are issued for new events (codes.py).

Each change is claimed by a conditional UPDATE in the transaction that makes it (and writes its
e-mail), so that several workers at once never do it twice, and it is never lost.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from community.core.db import db, utcnow
from community.core.transaction import write_transaction
from community.core.urls import external_url
from community.payments import services as payments
from community.sponsorship import years
from community.sponsorship.models import HOLDING, Sponsorship
from community.sponsorship.services import (
    CARD_HOLD,
    PURPOSE,
    end_sponsorship,
    locked_sponsorship,
    tell_contacts,
)

# The unpaid invoice's reminder goes this many days before its due date.
PAYMENT_REMINDER_DAYS = 3
# Renewal e-mails: the first this many days before the end, then the second.
RENEWAL_DAYS = (30, 7)
# A card checkout's place is released this long after its hold, if Stripe's expiry never came.
CARD_GRACE = timedelta(minutes=10)


def _ids(query) -> list[int]:
    ids = list(db.session.scalars(query))
    db.session.rollback()
    return ids


def lapse_unpaid_invoices() -> int:
    """An invoice not paid by its due date: the reservation lapses and its place is freed."""
    today = years.today()
    lapsed = 0
    for sponsorship_id in _ids(
        select(Sponsorship.id).where(Sponsorship.status == "invoiced", Sponsorship.due_on < today)
    ):
        # The order is closed in the ledger first: money that comes later is refused by the
        # fulfilment (the place is gone), and the administrator returns it by hand.
        payments.close_checkouts(PURPOSE, str(sponsorship_id))
        with write_transaction():
            sponsorship = locked_sponsorship(sponsorship_id)
            if sponsorship is None or sponsorship.status != "invoiced":
                continue  # paid meanwhile, or lapsed by another worker
            end_sponsorship(sponsorship, "lapsed")
            tell_contacts(sponsorship, "lapsed")
            lapsed += 1
    return lapsed


def remind_unpaid_invoices() -> int:
    today = years.today()
    horizon = today + timedelta(days=PAYMENT_REMINDER_DAYS)
    reminded = 0
    for sponsorship_id in _ids(
        select(Sponsorship.id).where(
            Sponsorship.status == "invoiced",
            Sponsorship.payment_reminders == 0,
            Sponsorship.due_on <= horizon,
            Sponsorship.due_on >= today,
        )
    ):
        with write_transaction():
            claimed = db.session.execute(
                update(Sponsorship)
                .where(
                    Sponsorship.id == sponsorship_id,
                    Sponsorship.status == "invoiced",
                    Sponsorship.payment_reminders == 0,
                )
                .values(payment_reminders=1)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:
                tell_contacts(db.session.get(Sponsorship, sponsorship_id), "payment_reminder")
                reminded += 1
    return reminded


def send_renewal_reminders() -> int:
    """30 and 7 days before a paid sponsorship ends, unless the partner has already renewed."""
    today = years.today()
    sent = 0
    # The nearest first: a sponsorship bought a week before its end gets one e-mail, not two.
    for stage, days in reversed(list(enumerate(RENEWAL_DAYS, start=1))):
        horizon = today + timedelta(days=days)
        for sponsorship_id in _ids(
            select(Sponsorship.id).where(
                Sponsorship.status == "paid",
                Sponsorship.renewal_reminders < stage,
                Sponsorship.ends_on <= horizon,
                Sponsorship.ends_on >= today,
            )
        ):
            with write_transaction():
                sponsorship = db.session.get(Sponsorship, sponsorship_id)
                if _renewed(sponsorship):
                    continue
                claimed = db.session.execute(
                    update(Sponsorship)
                    .where(
                        Sponsorship.id == sponsorship_id,
                        Sponsorship.renewal_reminders < stage,
                    )
                    .values(
                        renewal_reminders=len(RENEWAL_DAYS) if days == RENEWAL_DAYS[-1] else stage
                    )
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 1:
                    renew_url = external_url("sponsorship.renew", sponsorship_id=sponsorship_id)
                    tell_contacts(sponsorship, "renewal", renew_url=renew_url)
                    sent += 1
    return sent


def _renewed(sponsorship: Sponsorship) -> bool:
    return (
        db.session.scalar(
            select(Sponsorship.id).where(
                Sponsorship.partner_id == sponsorship.partner_id,
                Sponsorship.year == sponsorship.year + 1,
                Sponsorship.status.in_(HOLDING),
            )
        )
        is not None
    )


def release_overdue_card_holds() -> int:
    """A card checkout whose hold ran out without Stripe's word: closed at Stripe first (a
    payment made meanwhile wins), then its place goes back."""
    cutoff = utcnow() - CARD_HOLD - CARD_GRACE
    released = 0
    for sponsorship_id in _ids(
        select(Sponsorship.id).where(
            Sponsorship.status == "awaiting_payment", Sponsorship.created_at < cutoff
        )
    ):
        if payments.close_checkouts(PURPOSE, str(sponsorship_id)) != "closed":
            continue  # paid (applied now), still processing, or Stripe did not answer: later
        with write_transaction():
            sponsorship = locked_sponsorship(sponsorship_id)
            if sponsorship is None or sponsorship.status != "awaiting_payment":
                continue
            end_sponsorship(sponsorship, "expired")
            tell_contacts(sponsorship, "expired")
            released += 1
    return released
