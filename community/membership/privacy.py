"""What membership keeps about a person, for their account's export and deletion: their
memberships and their history. Deleting an account ends a membership it holds (its history stays,
as the payments it records do, with the account anonymised), and stops its subscription's
renewal at Stripe once the deletion is committed, so that nothing more is charged."""

from __future__ import annotations

import logging

from sqlalchemy import select

from community.accounts.models import User
from community.core.db import db, utcnow
from community.core.errors import DomainError
from community.core.transaction import after_commit
from community.membership.models import HOLDING, Membership
from community.membership.services import locked_membership, record
from community.payments import services as payments

log = logging.getLogger(__name__)


def export_memberships(user: User) -> list[dict]:
    memberships = db.session.scalars(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
    )
    return [
        {
            "plan_ja": membership.plan.name_ja,
            "plan_en": membership.plan.name_en,
            "status": membership.status,
            "starts_at": _iso(membership.starts_at),
            "ends_at": _iso(membership.ends_at),
            "auto_renew": membership.auto_renew,
            "history": [
                {
                    "what": event.kind,
                    "at": event.at.isoformat(),
                    "amount_minor": event.amount_minor,
                    "currency": event.currency,
                }
                for event in membership.history
            ],
        }
        for membership in memberships
    ]


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def end_memberships(user: User) -> None:
    """Inside the account's deletion (one unit of work)."""
    moment = utcnow()
    held = db.session.scalars(
        select(Membership.id).where(Membership.user_id == user.id, Membership.status.in_(HOLDING))
    ).all()
    for membership_id in held:
        membership = locked_membership(membership_id)
        subscription_order = (
            membership.order_id
            if membership.renewal == "subscription" and membership.status != "pending"
            else None
        )
        membership.auto_renew = False
        membership.transition(
            "abandoned" if membership.status == "pending" else "cancelled", moment
        )
        record(membership, membership.status, moment)
        if subscription_order is not None:
            after_commit(lambda order_id=subscription_order: _stop_renewal(order_id))


def _stop_renewal(order_id: int) -> None:
    try:
        payments.set_subscription_renewal(order_id, renew=False)
    except DomainError as error:
        log.error("order %s: the deleted account's subscription still renews: %s", order_id, error)
