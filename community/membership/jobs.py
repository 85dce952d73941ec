"""Membership's timed jobs (core/worker.py runs them; cron can too): members renewed by hand
are reminded 30 and 7 days before the end, a membership past its end goes into its grace, one
past its grace expires, and a join whose checkout outlived its hold is abandoned.

Every change is claimed under the membership's row lock (taken by writing first) and checked
again there, in the transaction that makes it and writes its e-mail: several workers at once,
on several machines, never do one twice, and a job run at any frequency changes nothing that is
not due.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select, update

from community.core.db import db, utcnow
from community.core.errors import DomainError
from community.core.transaction import write_transaction
from community.membership import services
from community.membership.models import BENEFITING, Membership

# Renewal e-mails: the first this many days before the end, then the second.
REMINDER_DAYS = (30, 7)
# A pending join is abandoned this long after its checkout's hold, if Stripe's expiry never came.
PENDING_MARGIN = timedelta(minutes=10)


def _ids(query) -> list[int]:
    ids = list(db.session.scalars(query))
    db.session.rollback()
    return ids


def _renewed_by_hand():
    return or_(Membership.renewal == "one_off", Membership.auto_renew.is_(False))


def send_renewal_reminders() -> int:
    """30 and 7 days before the end of a membership that does not renew itself."""
    moment = utcnow()
    sent = 0
    # The nearest first: a membership that ends within a week gets one e-mail, not two.
    for stage, days in reversed(list(enumerate(REMINDER_DAYS, start=1))):
        for membership_id in _ids(
            select(Membership.id).where(
                Membership.status == "active",
                _renewed_by_hand(),
                Membership.reminders_sent < stage,
                Membership.ends_at <= moment + timedelta(days=days),
                Membership.ends_at > moment,
            )
        ):
            with write_transaction():
                claimed = db.session.execute(
                    update(Membership)
                    .where(
                        Membership.id == membership_id,
                        Membership.status == "active",
                        Membership.reminders_sent < stage,
                        Membership.ends_at <= moment + timedelta(days=days),
                    )
                    .values(
                        reminders_sent=len(REMINDER_DAYS) if days == REMINDER_DAYS[-1] else stage
                    )
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 1:
                    membership = db.session.get(Membership, membership_id)
                    services.tell(membership, "reminder", days=days)
                    sent += 1
    return sent


def start_grace() -> int:
    """A membership renewed by hand whose end has passed: its grace begins (it still gives its
    benefits, and its member is told how long they have to renew). A subscription that renews
    itself is left to Stripe: its renewal may come a little after the end."""
    moment = utcnow()
    started = 0
    for membership_id in _ids(
        select(Membership.id).where(
            Membership.status.in_(("active", "past_due")),
            _renewed_by_hand(),
            Membership.ends_at <= moment,
            Membership.grace_ends_at > moment,
        )
    ):
        with write_transaction():
            membership = services.locked_membership(membership_id)
            if (
                membership.status not in ("active", "past_due")
                or membership.ends_at > moment
                or membership.grace_ends_at <= moment
                or (membership.renewal == "subscription" and membership.auto_renew)
            ):
                continue
            membership.transition("in_grace", moment)
            services.record(membership, "in_grace", moment)
            services.tell(membership, "in_grace")
            started += 1
    return started


def expire_after_grace() -> int:
    """A membership whose grace has passed without a renewal expires (its benefits had already
    stopped at the grace's end: `gives_benefits` does not wait for this job)."""
    moment = utcnow()
    expired = 0
    for membership_id in _ids(
        select(Membership.id).where(
            Membership.status.in_(BENEFITING), Membership.grace_ends_at <= moment
        )
    ):
        with write_transaction():
            membership = services.locked_membership(membership_id)
            if membership.status not in BENEFITING or membership.grace_ends_at > moment:
                continue
            membership.auto_renew = False
            membership.transition("expired", moment)
            services.record(membership, "expired", moment)
            services.tell(membership, "expired")
            expired += 1
    return expired


def abandon_stale_joins() -> int:
    """A join whose checkout outlived its hold without Stripe's word: closed at Stripe first (a
    payment made meanwhile makes it a member instead), then abandoned."""
    cutoff = utcnow() - services.CHECKOUT_HOLD - PENDING_MARGIN
    abandoned = 0
    for membership_id in _ids(
        select(Membership.id).where(Membership.status == "pending", Membership.created_at < cutoff)
    ):
        try:
            if services.abandon_pending(membership_id):
                abandoned += 1
        except DomainError:
            continue  # Stripe did not answer: the next run asks again
    return abandoned
