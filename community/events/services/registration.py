"""The registration engine: register, wait on the list, get promoted, cancel. (Its cron jobs are
in jobs.py; check-in and manage links in tickets.py.)

Every transaction that changes who holds a place starts by writing to the event's row
(`_lock_event`): on PostgreSQL that row lock serialises the event's writers, on SQLite the
transaction is already a writer (BEGIN IMMEDIATE). Places are then taken with conditional UPDATEs
on the counters (`taken < quota`, `places_taken < capacity`), whose row counts decide, and CHECK
constraints back them. Reading a count and then inserting would oversell on both databases.

E-mails are sent after the commit, from the list of notifications the transaction collected.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import selectinload

from community.accounts.models import User
from community.accounts.services import normalise_email
from community.core.db import begin_write, db, utcnow
from community.core.errors import Busy, Conflict, DomainError, NotFound
from community.events.membership import is_member
from community.events.models import (
    Answer,
    Event,
    Registration,
    TicketType,
)

__all__ = [
    "Notification",
    "RegistrationClosed",
    "cancel_registration",
    "promote_by_hand",
    "register_for_event",
]

MAX_SHORT_ANSWER = 300
MAX_LONG_ANSWER = 5000

log = logging.getLogger(__name__)


class RegistrationClosed(DomainError):
    code = "registration_closed"
    http_status = 410


class Take(Enum):
    TAKEN = "taken"
    TICKET_FULL = "ticket_full"
    EVENT_FULL = "event_full"


@dataclass
class Notification:
    kind: str
    registration_id: int
    extra: dict = field(default_factory=dict)


# --- locking and counters ------------------------------------------------------------------------


def _lock_event(event_id: int) -> None:
    """Write to the event's row first: from here on this transaction owns the event's places."""
    result = db.session.execute(
        update(Event).where(Event.id == event_id).values(places_taken=Event.places_taken)
    )
    if result.rowcount != 1:
        raise NotFound(_l("There is no such event."))


def _take_place(event_id: int, ticket_type_id: int) -> Take:
    taken_ticket = db.session.execute(
        update(TicketType)
        .where(
            TicketType.id == ticket_type_id,
            or_(TicketType.quota.is_(None), TicketType.taken < TicketType.quota),
        )
        .values(taken=TicketType.taken + 1)
    )
    if taken_ticket.rowcount != 1:
        return Take.TICKET_FULL
    taken_event = db.session.execute(
        update(Event)
        .where(Event.id == event_id, Event.places_taken < Event.capacity)
        .values(places_taken=Event.places_taken + 1)
    )
    if taken_event.rowcount != 1:
        db.session.execute(
            update(TicketType)
            .where(TicketType.id == ticket_type_id)
            .values(taken=TicketType.taken - 1)
        )
        return Take.EVENT_FULL
    return Take.TAKEN


def _release_place(registration: Registration) -> None:
    db.session.execute(
        update(TicketType)
        .where(TicketType.id == registration.ticket_type_id)
        .values(taken=TicketType.taken - 1)
    )
    db.session.execute(
        update(Event)
        .where(Event.id == registration.event_id)
        .values(places_taken=Event.places_taken - 1)
    )


def _config_delta(key: str, unit: str) -> timedelta:
    return timedelta(**{unit: current_app.config[key]})


def _hold_until(moment: datetime) -> datetime:
    return moment + _config_delta("PAYMENT_HOLD_MINUTES", "minutes")


def _enter_holding_status(registration: Registration, moment: datetime) -> str:
    """Free tickets are confirmed; paid ones wait for payment with the place held."""
    if registration.price_minor == 0:
        registration.transition("confirmed", moment)
        return "confirmed"
    registration.transition("awaiting_payment", moment)
    registration.hold_expires_at = _hold_until(moment)
    return "awaiting_payment"


def _promote(event_id: int, moment: datetime, notifications: list[Notification]) -> None:
    """Give free places to the waiting list, first come first served, in this transaction.

    A free ticket is confirmed at once; a paid one is offered for WAITLIST_OFFER_HOURS. Someone
    whose ticket type is full is skipped (the next person may want another ticket type).
    """
    waiting = db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event_id, Registration.status == "waitlisted")
        .order_by(Registration.queued_at, Registration.id)
    ).all()
    for registration in waiting:
        outcome = _take_place(event_id, registration.ticket_type_id)
        if outcome is Take.EVENT_FULL:
            break
        if outcome is Take.TICKET_FULL:
            continue
        if registration.price_minor == 0:
            registration.transition("confirmed", moment)
            notifications.append(Notification("promoted", registration.id))
        else:
            registration.transition("offered", moment)
            registration.offer_expires_at = moment + _config_delta("WAITLIST_OFFER_HOURS", "hours")
            notifications.append(Notification("offered", registration.id))


def _commit_or_busy() -> None:
    try:
        db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        raise Busy(_l("We are very busy right now. Please try again in a moment.")) from error


def _begin() -> None:
    """Start a fresh write transaction (ending any read one, whose snapshot may be stale)."""
    if db.session().in_transaction():
        db.session.rollback()
    try:
        begin_write(db.session)
    except OperationalError as error:
        db.session.rollback()
        raise Busy(_l("We are very busy right now. Please try again in a moment.")) from error


# --- registering ---------------------------------------------------------------------------------


def _choose_ticket_type(event: Event, slug: str | None, moment: datetime) -> TicketType:
    if slug:
        for ticket_type in event.ticket_types:
            if ticket_type.slug == slug:
                if not ticket_type.on_sale_at(moment):
                    raise DomainError(
                        _l("This ticket type is not on sale now."), field="ticket_type"
                    )
                return ticket_type
        raise DomainError(_l("There is no such ticket type."), field="ticket_type")
    on_sale = [t for t in event.ticket_types if t.on_sale_at(moment)]
    if len(on_sale) == 1:
        return on_sale[0]
    if not on_sale:
        raise RegistrationClosed(_l("No tickets are on sale for this event now."))
    raise DomainError(_l("Choose a ticket type."), field="ticket_type")


def _clean_answers(event: Event, raw: dict | None) -> dict[int, str]:
    """Validate answers against the event's questions; keys are question ids (int or str)."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise DomainError(_l("The answers are not in the right form."), field="answers")
    by_id = {str(question.id): question for question in event.questions}
    unknown = [key for key in raw if str(key) not in by_id]
    if unknown:
        raise DomainError(_l("There is no such question."), field="answers")
    cleaned: dict[int, str] = {}
    for key, question in by_id.items():
        value = raw.get(key, raw.get(int(key)))
        field_name = f"answers.{question.id}"
        if question.kind == "multiple_choice":
            values = value if isinstance(value, list) else ([value] if value else [])
            values = [str(v) for v in values if str(v).strip()]
            if any(v not in question.option_values() for v in values):
                raise DomainError(_l("Choose from the options given."), field=field_name)
            if question.required and not values:
                raise DomainError(_l("This question needs an answer."), field=field_name)
            if values:
                cleaned[question.id] = json.dumps(values, ensure_ascii=False)
            continue
        if isinstance(value, list | dict):
            raise DomainError(_l("Give one answer."), field=field_name)
        text = str(value).strip() if value is not None else ""
        if question.required and not text:
            raise DomainError(_l("This question needs an answer."), field=field_name)
        if not text:
            continue
        if question.kind == "single_choice" and text not in question.option_values():
            raise DomainError(_l("Choose from the options given."), field=field_name)
        limit = MAX_LONG_ANSWER if question.kind == "long_text" else MAX_SHORT_ANSWER
        if len(text) > limit:
            raise DomainError(
                _l("Keep the answer under %(count)d characters.", count=limit), field=field_name
            )
        cleaned[question.id] = text
    return cleaned


def _price_for(ticket_type: TicketType, user: User | None, email: str) -> int:
    member = is_member(user, email)
    if ticket_type.members_only and not member:
        raise DomainError(_l("This ticket is for members only."), field="ticket_type")
    if member and ticket_type.member_price_minor is not None:
        return ticket_type.member_price_minor
    return ticket_type.price_minor


def register_for_event(
    slug: str,
    *,
    name: str,
    email: str,
    ticket_type: str | None = None,
    answers: dict | None = None,
    user: User | None = None,
    language: str = "ja",
) -> Registration:
    """Register a signed-in person or a guest: confirmed, awaiting payment, or waitlisted.

    Raises NotFound (no such public event), RegistrationClosed (cancelled, outside the window),
    DomainError with a field (bad input), Conflict (already registered), Busy (lock timeout).
    """
    moment = utcnow()
    event = db.session.scalar(
        select(Event)
        .where(Event.slug == slug, Event.status.in_(("published", "cancelled")))
        .options(selectinload(Event.ticket_types), selectinload(Event.questions))
    )
    if event is None:
        raise NotFound(_l("There is no such event."))
    if event.status == "cancelled":
        raise RegistrationClosed(_l("This event is cancelled."))
    if not event.registration_open_at(moment):
        raise RegistrationClosed(_l("Registration for this event is closed."))

    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter your name."), field="name")
    if len(name) > 120:
        raise DomainError(_l("Keep the name under 120 characters."), field="name")
    address = normalise_email(email)
    chosen = _choose_ticket_type(event, ticket_type, moment)
    cleaned_answers = _clean_answers(event, answers)
    price = _price_for(chosen, user, address)
    if language not in ("ja", "en"):
        language = "ja"
    event_id, ticket_type_id, currency = event.id, chosen.id, chosen.currency

    notifications: list[Notification] = []
    _begin()
    try:
        _lock_event(event_id)
        # The queue's order is the order in which registrations get the event's lock.
        moment = utcnow()
        already = db.session.scalar(
            select(Registration.id).where(
                Registration.event_id == event_id,
                Registration.email == address,
                Registration.status.in_(("confirmed", "awaiting_payment", "waitlisted", "offered")),
            )
        )
        if already is not None:
            raise Conflict(_l("This e-mail address is already registered for this event."))
        registration = Registration(
            event_id=event_id,
            ticket_type_id=ticket_type_id,
            user_id=user.id if user is not None and user.is_authenticated else None,
            name=name,
            email=address,
            locale=language,
            status="waitlisted",
            price_minor=price,
            currency=currency,
            ticket_code=secrets.token_urlsafe(12),
            manage_nonce=secrets.token_hex(8),
            queued_at=moment,
            created_at=moment,
        )
        if _take_place(event_id, ticket_type_id) is Take.TAKEN:
            kind = _enter_holding_status(registration, moment)
        else:
            kind = "waitlisted"
        registration.answers = [
            Answer(question_id=question_id, value=value)
            for question_id, value in cleaned_answers.items()
        ]
        db.session.add(registration)
        db.session.flush()
        notifications.append(Notification(kind, registration.id))
        _commit_or_busy()
    except IntegrityError as error:
        db.session.rollback()
        # The partial unique index caught a simultaneous registration with the same e-mail.
        raise Conflict(_l("This e-mail address is already registered for this event.")) from error
    except OperationalError as error:
        db.session.rollback()
        raise Busy(_l("We are very busy right now. Please try again in a moment.")) from error
    except DomainError:
        db.session.rollback()
        raise
    _send(notifications)
    return registration


# --- cancelling and leaving the waiting list -----------------------------------------------------


@contextmanager
def _registration_under_lock(registration_id: int) -> Iterator[tuple[Registration, list]]:
    """A write transaction owning the registration's event: yields the registration, re-read
    under the lock, and a list for notifications; commits, then sends them."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_l("There is no such registration."))
    event_id = registration.event_id
    notifications: list[Notification] = []
    _begin()
    try:
        _lock_event(event_id)
        yield db.session.get(Registration, registration_id, populate_existing=True), notifications
        _commit_or_busy()
    except DomainError:
        db.session.rollback()
        raise
    _send(notifications)


def cancel_registration(
    registration_id: int, *, by_organiser: bool = False, refund_rest: bool = True
) -> Registration:
    """Cancel a registration (or leave the waiting list); a freed place goes to the next person.

    People may cancel a place until the event's deadline; organisers at any time; leaving the
    waiting list or an offer is always possible. A place awaiting payment has its checkout
    closed at Stripe first (as an expired hold does): if Stripe says it was paid meanwhile, the
    payment wins (the place is confirmed), then it is cancelled and the money goes back — all of
    it when an organiser cancels; as the event's policy says when the person does
    (`paying.cancel_by_person`). If Stripe cannot be asked, nothing changes (try again).
    An organiser cancelling a paid place gives back all that is left of its payment (nothing
    paid is kept for a place that is gone), unless `refund_rest` is false: the organiser has
    just refunded the part they chose.
    """
    from community.events.services.paying import close_checkout_of

    moment = utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_l("There is no such registration."))
    _check_cancellable(registration, by_organiser, moment)
    paid_meanwhile = False
    if registration.status == "awaiting_payment":
        paid_meanwhile = close_checkout_of(registration_id) == "paid"
    with _registration_under_lock(registration_id) as (registration, notifications):
        event = db.session.get(Event, registration.event_id, populate_existing=True)
        _check_cancellable(registration, by_organiser, moment)
        was_holding = registration.holds_place
        registration.transition("cancelled", moment)
        if was_holding:
            _release_place(registration)
            if event.status != "cancelled":  # nobody is promoted into a cancelled event
                _promote(event.id, moment, notifications)
        notifications.append(Notification("cancelled", registration.id))
    if by_organiser and (paid_meanwhile or refund_rest):
        from community.events.services.paying import refund_after_cancelling

        try:
            refund_after_cancelling(
                registration_id, share=100, reason="cancelled by the organisers", tell=True
            )
        except DomainError as error:
            # The place is cancelled either way; an unanswered refund is asked again by
            # reconcile, a refused one shows on the order's page.
            log.error("registration %s cancelled, refund not started: %s", registration_id, error)
    return registration


def _check_cancellable(registration: Registration, by_organiser: bool, moment: datetime) -> None:
    event = registration.event
    if not registration.is_active:
        raise Conflict(_l("This registration is already cancelled."))
    deadline = event.starts_at - timedelta(hours=event.cancel_deadline_hours)
    late = registration.status in ("confirmed", "awaiting_payment") and moment >= deadline
    if late and not by_organiser:
        raise DomainError(_l("It is too late to cancel online. Please write to the organisers."))


def promote_by_hand(registration_id: int) -> Registration:
    """An organiser lets a waiting person in now, out of turn.

    If the event (or the person's ticket type) is full, its limit grows by one in the same
    transaction: the organiser decides to make room, and nothing is ever held beyond a limit.
    """
    moment = utcnow()
    with _registration_under_lock(registration_id) as (registration, notifications):
        if registration.status != "waitlisted":
            raise Conflict(_l("Only people on the waiting list can be promoted."))
        event_id, ticket_type_id = registration.event_id, registration.ticket_type_id
        outcome = _take_place(event_id, ticket_type_id)
        if outcome is Take.TICKET_FULL:
            db.session.execute(
                update(TicketType)
                .where(TicketType.id == ticket_type_id)
                .values(quota=TicketType.quota + 1)
            )
            outcome = _take_place(event_id, ticket_type_id)
        if outcome is Take.EVENT_FULL:
            db.session.execute(
                update(Event).where(Event.id == event_id).values(capacity=Event.capacity + 1)
            )
            outcome = _take_place(event_id, ticket_type_id)
        if outcome is not Take.TAKEN:  # pragma: no cover - both limits were just raised
            raise Busy(_l("We are very busy right now. Please try again in a moment."))
        kind = _enter_holding_status(registration, moment)
        notifications.append(
            Notification("promoted" if kind == "confirmed" else kind, registration.id)
        )
    return registration


# --- notifications -------------------------------------------------------------------------------


def _send(notifications: list[Notification]) -> None:
    from community.events.notify import send_notification

    for notification in notifications:
        send_notification(notification)
