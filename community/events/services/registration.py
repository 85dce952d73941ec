"""Registering, leaving the waiting list, being promoted by hand, cancelling: the services
people and organisers call. The moving parts (the event's lock, the counters, promotion,
telling people) are in engine.py; the cron jobs in jobs.py; check-in and manage links in
tickets.py; what money does when a place goes, in paying.py.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from community.accounts.models import User
from community.core.db import db, insert_now, utcnow
from community.core.errors import Busy, Conflict, DomainError, NotFound
from community.core.text import LONG_ANSWER_MAX, NAME_MAX, SHORT_ANSWER_MAX, normalise_email
from community.core.transaction import write_transaction
from community.events.facts import EventFacts, TicketFacts, facts_of
from community.events.models import Answer, Event, Registration, TicketType
from community.events.notify import one_email_each
from community.events.offers import clean_voucher_code, price_for, redeem_voucher
from community.events.services.engine import (
    Take,
    enter_holding_status,
    let_go,
    lock_event,
    promote_waiting,
    registration_under_lock,
    take_place_for,
    tell,
)
from community.events.services.paying import close_checkout_of, refund_after_cancelling
from community.payments import services as payments

__all__ = [
    "RegistrationClosed",
    "cancel_by_organiser",
    "cancel_by_person",
    "cancel_registration",
    "promote_by_hand",
    "refund_registration",
    "register_for_event",
]

log = logging.getLogger(__name__)


class RegistrationClosed(DomainError):
    code = "registration_closed"
    http_status = 410


# --- registering ---------------------------------------------------------------------------------


def _choose_ticket_type(event: EventFacts, slug: str | None, moment: datetime) -> TicketFacts:
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


def _clean_answers(event: EventFacts, raw: dict | None) -> dict[int, str]:
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
        limit = LONG_ANSWER_MAX if question.kind == "long_text" else SHORT_ANSWER_MAX
        if len(text) > limit:
            raise DomainError(
                _l("Keep the answer under %(count)d characters.", count=limit), field=field_name
            )
        cleaned[question.id] = text
    return cleaned


def register_for_event(
    slug: str,
    *,
    name: str,
    email: str,
    ticket_type: str | None = None,
    answers: dict | None = None,
    user: User | None = None,
    language: str = "ja",
    voucher: str | None = None,
) -> Registration:
    """Register a signed-in person or a guest: confirmed, awaiting payment, or waitlisted.

    A `voucher` code is redeemed by the domain that gave it meaning (offers.voucher_kind) in the
    registration's own transaction: it may lower the price and give a place outside the ticket
    type's quota; a code nobody knows, or one used up, is a DomainError on "voucher".

    Raises NotFound (no such public event), RegistrationClosed (cancelled, outside the window),
    DomainError with a field (bad input), Conflict (already registered), Busy (lock timeout).
    """
    moment = utcnow()
    event = facts_of(slug)
    if event is None:
        raise NotFound(_l("There is no such event."))
    if event.status == "cancelled":
        raise RegistrationClosed(_l("This event is cancelled."))
    if not event.registration_open_at(moment):
        raise RegistrationClosed(_l("Registration for this event is closed."))

    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter your name."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_l("Keep the name under 120 characters."), field="name")
    address = normalise_email(email)
    chosen = _choose_ticket_type(event, ticket_type, moment)
    cleaned_answers = _clean_answers(event, answers)
    price = price_for(event, chosen, user, address)
    code = clean_voucher_code(voucher)
    if language not in ("ja", "en"):
        language = "ja"
    registration = Registration(
        ticket_type_id=chosen.id,
        user_id=user.id if user is not None and user.is_authenticated else None,
        name=name,
        email=address,
        locale=language,
        status="waitlisted",
        price_minor=price,
        currency=chosen.currency,
        ticket_code=secrets.token_urlsafe(12),
        manage_nonce=secrets.token_hex(8),
        outside_quota=False,
    )
    registration.event_id = event.id
    try:
        # The new row holds what was written: the answer needs no second read of it.
        with write_transaction(expire_on_commit=False):
            lock = lock_event(registration.event_id)
            if lock.status == "cancelled":  # since it was read, before the lock
                raise RegistrationClosed(_l("This event is cancelled."))
            _enter_queue(registration, cleaned_answers, code, lock.full)
    except IntegrityError as error:
        # The partial unique index caught a simultaneous registration with the same e-mail.
        raise Conflict(_l("This e-mail address is already registered for this event.")) from error
    return registration


def _enter_queue(
    registration: Registration, answers: dict[int, str], voucher: str | None, full: bool = False
) -> None:
    """Under the event's lock: a place for the registration (its voucher redeemed first), or the
    end of the waiting list. A second active registration of the same e-mail is refused by the
    partial unique index when the row is inserted (IntegrityError, turned into Conflict)."""
    # The queue's order is the order in which registrations get the event's lock.
    moment = utcnow()
    registration.queued_at = registration.created_at = registration.updated_at = moment
    if voucher is not None:
        insert_now(registration)  # the voucher's redemption points at the row
        redeem_voucher(voucher, registration)
        taken = take_place_for(registration)
    else:
        # Places first, so that the row goes in with its status in one INSERT.
        taken = Take.EVENT_FULL if full else take_place_for(registration)
    kind = enter_holding_status(registration, moment) if taken is Take.TAKEN else "waitlisted"
    if voucher is None:
        insert_now(registration)
    # Flushed with the commit, as is a voucher's place taken after the INSERT.
    db.session.add_all(
        Answer(registration_id=registration.id, question_id=question_id, value=value)
        for question_id, value in answers.items()
    )
    tell(kind, registration.id)


# --- cancelling and leaving the waiting list -----------------------------------------------------


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
    moment = utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_l("There is no such registration."))
    _check_cancellable(registration, by_organiser, moment)
    paid_meanwhile = False
    if registration.status == "awaiting_payment":
        paid_meanwhile = close_checkout_of(registration_id) == "paid"
    with registration_under_lock(registration_id) as registration:
        event = db.session.get(Event, registration.event_id, populate_existing=True)
        _check_cancellable(registration, by_organiser, moment)
        held = let_go(registration, "cancelled", moment)
        if held and event.status != "cancelled":  # nobody is promoted into a cancelled event
            promote_waiting(event.id, moment)
        tell("cancelled", registration.id)
    if by_organiser and (paid_meanwhile or refund_rest):
        try:
            refund_after_cancelling(
                registration_id, share=100, reason="cancelled by the organisers", tell=True
            )
        except DomainError as error:
            # The place is cancelled either way; an unanswered refund is asked again by
            # reconcile, a refused one shows on the order's page.
            log.error("registration %s cancelled, refund not started: %s", registration_id, error)
    return registration


def refund_registration(
    registration_id: int, amount_minor: int | None, *, cancel: bool, by_user_id: int | None
) -> None:
    """An organiser gives money back for a ticket: all that is left, or part of it.

    A full refund cancels the registration when Stripe confirms it (events/fulfilment.py); for a
    part, the organiser chooses whether the person keeps the place. The person gets one e-mail:
    the refund, and whether they keep their place.
    """
    order = payments.paid_order_for("ticket", str(registration_id))
    if order is None:
        refunded = any(
            o.status == "refunded" for o in payments.orders_for("ticket", str(registration_id))
        )
        raise DomainError(
            payments.ALREADY_REFUNDED
            if refunded
            else _l("There is no payment to refund for this registration.")
        )
    registration = db.session.get(Registration, registration_id)
    left = payments.refundable_minor(order)
    partial = amount_minor is not None and amount_minor < left
    with one_email_each():
        payments.refund_order(
            order, amount_minor, reason="organiser", by_user_id=by_user_id, tell_buyer=True
        )
        if cancel and partial and registration.is_active:
            cancel_registration(registration_id, by_organiser=True, refund_rest=False)


def cancel_by_organiser(registration_id: int) -> Registration:
    """An organiser cancels a registration: all that is left of a paid ticket goes back, said in
    the same e-mail as the cancellation."""
    with one_email_each():
        return cancel_registration(registration_id, by_organiser=True)


def cancel_by_person(registration_id: int) -> bool:
    """The person cancels (before the event's deadline, or leaves the waiting list); a paid
    ticket is refunded as the event's policy says (`refund_percent`) — also one whose payment
    arrived while it was being cancelled. One e-mail says both. True if a refund started."""
    with one_email_each():
        registration = cancel_registration(registration_id)
        share = registration.event.refund_percent
        return refund_after_cancelling(
            registration_id,
            share=share,
            reason=f"cancelled before the deadline ({share}%)",
            tell=True,
        )


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
    with registration_under_lock(registration_id) as registration:
        if registration.status != "waitlisted":
            raise Conflict(_l("Only people on the waiting list can be promoted."))
        event_id, ticket_type_id = registration.event_id, registration.ticket_type_id
        outcome = take_place_for(registration)
        if outcome is Take.TICKET_FULL:
            db.session.execute(
                update(TicketType)
                .where(TicketType.id == ticket_type_id)
                .values(quota=TicketType.quota + 1)
            )
            outcome = take_place_for(registration)
        if outcome is Take.EVENT_FULL:
            db.session.execute(
                update(Event).where(Event.id == event_id).values(capacity=Event.capacity + 1)
            )
            outcome = take_place_for(registration)
        if outcome is not Take.TAKEN:  # pragma: no cover - both limits were just raised
            raise Busy(_l("We are very busy right now. Please try again in a moment."))
        kind = enter_holding_status(registration, moment)
        tell("promoted" if kind == "confirmed" else kind, registration.id)
    return registration
