"""What donations keep about a person with an account, for its export and deletion: the gifts
made while signed in. Deleting the account keeps the gifts' money (the ledger and the
campaigns' totals need it) but takes the person off them: no name, message or address, and
anonymous on the wall; a monthly gift still running is stopped at Stripe once the deletion is
committed, so that nothing more is charged. Gifts made without an account are the address's,
not the account's: they stay as they were."""

from __future__ import annotations

import logging

from sqlalchemy import select

from community.accounts.models import User
from community.core.db import db, utcnow
from community.core.errors import DomainError
from community.core.transaction import after_commit
from community.donations.models import RUNNING, Donation
from community.donations.services import locked
from community.payments import services as payments

log = logging.getLogger(__name__)


def export_gifts(user: User) -> list[dict]:
    gifts = db.session.scalars(
        select(Donation).where(Donation.user_id == user.id).order_by(Donation.id)
    )
    return [
        {
            "kind": gift.kind,
            "status": gift.status,
            "amount_minor": gift.amount_minor,
            "currency": gift.currency,
            "campaign_ja": gift.campaign.name_ja if gift.campaign else None,
            "campaign_en": gift.campaign.name_en if gift.campaign else None,
            "email": gift.email,
            "name_on_wall": gift.donor_name,
            "wall": gift.wall,
            "message": gift.message,
            "created_at": gift.created_at.isoformat(),
            "payments": [
                {
                    "amount_minor": payment.amount_minor,
                    "refunded_minor": payment.refunded_minor,
                    "currency": payment.currency,
                    "paid_at": payment.paid_at.isoformat(),
                }
                for payment in gift.payments
            ],
        }
        for gift in gifts
    ]


def forget_gifts(user: User) -> None:
    """Inside the account's deletion (one unit of work)."""
    moment = utcnow()
    gift_ids = db.session.scalars(select(Donation.id).where(Donation.user_id == user.id)).all()
    for gift_id in gift_ids:
        gift = locked(gift_id)
        if gift.is_monthly and gift.status in RUNNING and gift.order_id is not None:
            gift.cancel_requested_at = moment
            after_commit(lambda order_id=gift.order_id: _stop(order_id))
        gift.user_id = None
        gift.donor_name = ""
        gift.message = ""
        gift.wall = "anonymous"
        gift.email = f"deleted-gift-{gift.id}@invalid"
        gift.email_key = gift.email
        gift.donor_key = f"deleted:{user.id}"
        gift.updated_at = moment


def _stop(order_id: int) -> None:
    try:
        payments.cancel_subscription(order_id)
    except DomainError as error:
        log.error("order %s: the deleted account's monthly gift still runs: %s", order_id, error)
