"""What people find of their own: an account's "My events", an address's manage links sent to
that address, and a place's position on the waiting list.

Anyone can register with any e-mail address, so an address proves nothing by itself: an account
sees what it registered for while signed in, and the guest registrations of its address only
once that address is confirmed (`account_address`); the manage links of an address are only
ever e-mailed to it, and the answer to whoever asked is the same whether there were any.
Registering, cancelling and paying are in registration.py and paying.py; the links themselves in
tickets.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, selectinload

from community.accounts.models import User
from community.core.db import db, read_rows, utcnow
from community.core.i18n import localized
from community.core.mail import pretend_to_send_mail, send_mail
from community.core.text import normalise_email
from community.events.links import manage_url
from community.events.models import ACTIVE, Event, Registration
from community.events.services.catalog import PUBLIC_STATUSES

__all__ = [
    "ManageLink",
    "MyEvents",
    "MyRegistration",
    "account_address",
    "my_events",
    "send_manage_links",
    "waitlist_position",
    "waitlist_positions",
]

# Past places shown on the profile, latest first: enough to look back, a page that stays short.
PAST_SHOWN = 50
# Statuses that ask the person to pay to keep (or take) a place.
TO_PAY = ("awaiting_payment", "offered")


# --- the waiting list ----------------------------------------------------------------------------


def waitlist_positions(registrations: list[Registration]) -> dict[int, int]:
    """Each waitlisted registration's place in its event's queue (1 is next), in one query.

    The queue is first come, first served on (queued_at, id), the order in which promotion
    takes people; someone whose ticket type is full is passed over then, so the number says
    how many are ahead, not a promise of the order."""
    ids = [r.id for r in registrations if r.status == "waitlisted"]
    if not ids:
        return {}
    ahead = aliased(Registration)
    rows = db.session.execute(
        select(Registration.id, func.count(ahead.id))
        .join(
            ahead,
            and_(
                ahead.event_id == Registration.event_id,
                ahead.status == "waitlisted",
                or_(
                    ahead.queued_at < Registration.queued_at,
                    and_(ahead.queued_at == Registration.queued_at, ahead.id <= Registration.id),
                ),
            ),
        )
        .where(Registration.id.in_(ids), Registration.status == "waitlisted")
        .group_by(Registration.id)
    )
    return dict(rows.all())


def waitlist_position(registration: Registration) -> int | None:
    """The registration's place on its event's waiting list, or None when it is not on it."""
    return waitlist_positions([registration]).get(registration.id)


# --- "My events" ---------------------------------------------------------------------------------


def account_address(user: User) -> str | None:
    """The address whose guest registrations belong to an account: its own, once confirmed.

    Signing up with someone's address proves nothing until the address is confirmed: until
    then the account gathers only what it registered for itself."""
    return user.email if user.is_confirmed else None


@dataclass(frozen=True)
class MyRegistration:
    registration: Registration
    manage_url: str
    # On the waiting list: its place in the queue (1 is next); else None.
    position: int | None = None

    @property
    def event(self) -> Event:
        return self.registration.event


@dataclass(frozen=True)
class MyEvents:
    """An account's registrations: places to pay for (with their deadline), places and waiting
    to come, and past places, each with the link to its manage page."""

    to_pay: list[MyRegistration] = field(default_factory=list)
    upcoming: list[MyRegistration] = field(default_factory=list)
    past: list[MyRegistration] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.to_pay or self.upcoming or self.past)


# The account's registrations: made while signed in to it, or as a guest with its confirmed
# address (`account_address`); built once, a NULL address matches nothing.
_MY_REGISTRATION_IDS = select(Registration.id).where(
    or_(
        Registration.user_id == bindparam("user_id"),
        and_(Registration.email == bindparam("address"), Registration.user_id.is_(None)),
    )
)


def _my_registration_ids(user: User) -> list[int]:
    """The ids of the account's registrations: one light read of the account's and
    the address's indexes. The lists are then read by these ids, which every database plans
    well (SQLite, without statistics, would otherwise walk the registrations of every event to
    come and test each one: tens of milliseconds with a thousand events)."""
    values = {"user_id": user.id, "address": account_address(user)}
    return list(read_rows(_MY_REGISTRATION_IDS, values).scalars())


def _registrations_of(ids: list[int], *condition, order, limit: int | None = None):
    query = (
        select(Registration)
        .join(Event, Registration.event_id == Event.id)
        .where(Registration.id.in_(ids), Event.status.in_(PUBLIC_STATUSES), *condition)
        .options(contains_eager(Registration.event), selectinload(Registration.ticket_type))
        .order_by(*order)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query).unique())


def my_events(user: User, moment: datetime | None = None) -> MyEvents:
    """The account's registrations for events still to end (active ones) and for past events
    (the places it had), grouped for its profile page."""
    moment = moment or utcnow()
    ids = _my_registration_ids(user)
    if not ids:
        return MyEvents()
    coming = _registrations_of(
        ids,
        Event.ends_at > moment,
        Registration.status.in_(ACTIVE),
        order=(Event.starts_at, Event.id, Registration.id),
    )
    past = _registrations_of(
        ids,
        Event.ends_at <= moment,
        Registration.status == "confirmed",
        order=(Event.starts_at.desc(), Event.id.desc(), Registration.id.desc()),
        limit=PAST_SHOWN,
    )
    positions = waitlist_positions(coming)
    found = MyEvents()
    for registration in coming:
        item = MyRegistration(
            registration, manage_url(registration), positions.get(registration.id)
        )
        if registration.status in TO_PAY and not registration.has_lapsed(moment):
            found.to_pay.append(item)
        else:
            found.upcoming.append(item)
    found.past.extend(MyRegistration(r, manage_url(r)) for r in past)
    return found


# --- the manage links of an address, sent to it --------------------------------------------------


@dataclass(frozen=True)
class ManageLink:
    """One line of the e-mail that carries an address's manage links."""

    title: str
    starts_at: datetime
    timezone: str
    status: str
    url: str


def _links_for(address: str, moment: datetime) -> tuple[list[ManageLink], str | None]:
    """The manage links of the address's active registrations for events still to end, in the
    language of its latest registration (None when it has none)."""
    found = list(
        db.session.scalars(
            select(Registration)
            .join(Event, Registration.event_id == Event.id)
            .where(
                Registration.email == address,
                Registration.status.in_(ACTIVE),
                Event.status.in_(PUBLIC_STATUSES),
                Event.ends_at > moment,
            )
            .options(contains_eager(Registration.event))
            .order_by(Event.starts_at, Event.id, Registration.id)
        ).unique()
    )
    if not found:
        return [], None
    latest = max(found, key=lambda r: (r.created_at, r.id))
    language = latest.locale if latest.locale in ("ja", "en") else "ja"
    links = [
        ManageLink(
            title=localized(r.event, "title", language),
            starts_at=r.event.starts_at,
            timezone=r.event.timezone,
            status=r.status,
            url=manage_url(r),
        )
        for r in found
    ]
    return links, language


def send_manage_links(address: str, language: str = "ja") -> None:
    """E-mail an address the manage links of its registrations for events to come, in one
    message, to that address only; nothing when it has none. Raises DomainError for a malformed
    address. The caller answers the same either way.

    The message goes out after the answer (the outbox); for an address without registrations
    the same message is made and written for nobody and never sent, so that neither the answer
    nor its time tells whether there were any."""
    recipient = normalise_email(address)
    links, own_language = _links_for(recipient, utcnow())
    make_or_send = send_mail
    if not links:
        # A stand-in line, never sent: the answer costs the same work as a real one.
        recipient, make_or_send = "nobody@example.invalid", pretend_to_send_mail
        links = [ManageLink("", utcnow(), "", "confirmed", "")]
    make_or_send(
        recipient,
        _l("Your registration links"),
        "events/manage_links",
        own_language or (language if language in ("ja", "en") else "ja"),
        links=links,
    )
