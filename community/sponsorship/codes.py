"""Complimentary ticket codes: for every published event that takes place while a sponsorship is
active, its tier's number of codes, which the partner hands to employees. A code is a voucher
(events' `voucher_kind` hook): used when registering, it takes a place at no charge (counted
against the event's capacity and the ticket type's quota like any ticket), once, only for its
event, only while the sponsorship is active. A registration that ends gives its code back.

Codes are issued by a timed job (and when the partner's page is looked at); each is claimed by a
conditional UPDATE whose row count decides, so that two people using one code at the same
moment cannot both get a place with it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from community.core.dates import zone
from community.core.db import db, insert_missing, utcnow
from community.core.errors import DomainError
from community.core.transaction import write_transaction
from community.events.models import Event, Registration
from community.events.offers import VoucherUse
from community.sponsorship import years
from community.sponsorship.models import ComplimentaryCode, Sponsorship, SponsorshipTier

# No 0/O or 1/I/L: codes are read out and typed by hand.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
PREFIX = "SP-"
USED = _l("This code has already been used.")


def new_code() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _events_during(sponsorship: Sponsorship, moment: datetime) -> list[int]:
    """Published events still to come that take place while the sponsorship is active."""
    tz = zone()
    first = datetime.combine(sponsorship.starts_on, time.min, tz)
    after_last = datetime.combine(sponsorship.ends_on, time.max, tz)
    return list(
        db.session.scalars(
            select(Event.id).where(
                Event.status == "published",
                Event.ends_at > moment,
                Event.starts_at >= first,
                Event.starts_at <= after_last,
            )
        )
    )


def issue_codes(partner_id: int | None = None) -> int:
    """Give every active sponsorship (of one partner, or all) the codes it is owed for each
    event; returns how many were made. Safe from several workers at once: the unique key
    (sponsorship, event, number) keeps one of two codes made at the same moment."""
    moment = utcnow()
    day = years.today()
    query = (
        select(Sponsorship.id, SponsorshipTier.complimentary_tickets)
        .join(SponsorshipTier, SponsorshipTier.id == Sponsorship.tier_id)
        .where(
            Sponsorship.status == "paid",
            Sponsorship.starts_on <= day,
            Sponsorship.ends_on >= day,
            SponsorshipTier.complimentary_tickets > 0,
        )
    )
    if partner_id is not None:
        query = query.where(Sponsorship.partner_id == partner_id)
    owed = db.session.execute(query).all()
    made = 0
    for sponsorship_id, count in owed:
        sponsorship = db.session.get(Sponsorship, sponsorship_id)
        have = {
            (event_id, number)
            for event_id, number in db.session.execute(
                select(ComplimentaryCode.event_id, ComplimentaryCode.number).where(
                    ComplimentaryCode.sponsorship_id == sponsorship_id
                )
            )
        }
        missing = [
            {
                "sponsorship_id": sponsorship_id,
                "event_id": event_id,
                "number": number,
                "code": new_code(),
            }
            for event_id in _events_during(sponsorship, moment)
            for number in range(1, count + 1)
            if (event_id, number) not in have
        ]
        made += _make(missing)
    return made


def _make(rows: list[dict]) -> int:
    """One statement for all the missing codes of a sponsorship, whatever their number; a code
    made meanwhile by another worker (or, once in a blue moon, a code string taken) is skipped,
    and the next run makes what is still missing."""
    if not rows:
        return 0
    with write_transaction():
        return insert_missing(ComplimentaryCode.__table__, rows)


def codes_by_event(partner_id: int) -> list[tuple[Event, list[tuple[ComplimentaryCode, str]]]]:
    """The partner's codes, each with who used it (the name they registered with), soonest
    event first: every code of an event still to come, to hand out, and the used codes of past
    events, to see what the benefit gave. A sponsorship that no longer stands (cancelled, its
    money returned) offers none."""
    moment = utcnow()
    rows = db.session.execute(
        select(Event, ComplimentaryCode, Registration.name)
        .join(ComplimentaryCode, ComplimentaryCode.event_id == Event.id)
        .join(Sponsorship, Sponsorship.id == ComplimentaryCode.sponsorship_id)
        .outerjoin(Registration, Registration.id == ComplimentaryCode.registration_id)
        .where(
            Sponsorship.partner_id == partner_id,
            Sponsorship.status == "paid",
            or_(Event.ends_at > moment, ComplimentaryCode.used_at.is_not(None)),
        )
        .order_by(Event.starts_at, Event.id, ComplimentaryCode.number)
    ).all()
    grouped: dict[int, tuple[Event, list]] = {}
    for event, code, name in rows:
        grouped.setdefault(event.id, (event, []))[1].append((code, name or ""))
    return list(grouped.values())


class ComplimentaryCodes:
    """The voucher kind of complimentary codes (see events/offers.py)."""

    def redeem(self, code: str, registration: Registration) -> VoucherUse | None:
        row = db.session.scalar(
            select(ComplimentaryCode).where(ComplimentaryCode.code == code.strip().upper())
        )
        if row is None:
            return None
        if row.event_id != registration.event_id:
            raise DomainError(_l("This code is for another event."), field="voucher")
        sponsorship = db.session.get(Sponsorship, row.sponsorship_id)
        if sponsorship is None or not sponsorship.is_active_on(years.today()):
            raise DomainError(
                _l("This code's sponsorship has ended: the code can no longer be used."),
                field="voucher",
            )
        claimed = db.session.execute(
            update(ComplimentaryCode)
            .where(
                ComplimentaryCode.id == row.id,
                ComplimentaryCode.registration_id.is_(None),
                ComplimentaryCode.used_at.is_(None),
            )
            .values(registration_id=registration.id, used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise DomainError(USED, field="voucher")
        return VoucherUse(price_minor=0, outside_quota=False)

    def release(self, registration: Registration) -> None:
        db.session.execute(
            update(ComplimentaryCode)
            .where(ComplimentaryCode.registration_id == registration.id)
            .values(registration_id=None, used_at=None)
            .execution_options(synchronize_session=False)
        )


COMPLIMENTARY_CODES = ComplimentaryCodes()
