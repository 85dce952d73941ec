"""Organisers' rules: create, edit, publish, cancel and duplicate events, with their ticket types
and questions. (The attendee list is in attendees.py, cover images in covers.py.)

Whoever calls these has been checked by `can_manage` (views) — the rules about the event itself
(dates, capacity against places taken, quotas inside capacity) are checked here.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from community.accounts.models import User
from community.accounts.services import find_user_by_email
from community.core.dates import is_valid_timezone
from community.core.db import db, utcnow
from community.core.errors import Conflict, DomainError
from community.core.money import is_known_currency
from community.core.text import EVENT_SLUG_MAX, email_key
from community.core.transaction import write_transaction
from community.events.models import (
    ACTIVE,
    EVENT_LANGUAGES,
    FORMATS,
    KINDS,
    QUESTION_KINDS,
    Category,
    Event,
    Question,
    Registration,
    TicketType,
)
from community.events.notify import MoneyNews, one_email_each, tell_refund
from community.events.services.engine import lock_event, promote_waiting, tell
from community.events.services.paying import refundable_by_registration
from community.payments import services as payments

log = logging.getLogger(__name__)

__all__ = [
    "EVENT_DATETIME_FIELDS",
    "EVENT_FIELDS",
    "EVENT_REFUND_CHOICES",
    "CancellationMoney",
    "EventData",
    "QuestionData",
    "TicketTypeData",
    "cancel_event",
    "cancellation_money",
    "create_event",
    "duplicate_event",
    "event_data",
    "publish_event",
    "set_organisers",
    "update_event",
]

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Prices and hours live in 32-bit integer columns; anything near their limit is a typing mistake.
MAX_PRICE_MINOR = 100_000_000
MAX_CANCEL_DEADLINE_HOURS = 24 * 366


@dataclass
class TicketTypeData:
    slug: str
    name_ja: str = ""
    name_en: str = ""
    price_minor: int = 0
    currency: str = "JPY"
    quota: int | None = None
    members_only: bool = False
    member_price_minor: int | None = None
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None


@dataclass
class QuestionData:
    kind: str
    label_ja: str = ""
    label_en: str = ""
    required: bool = False
    options: list[dict] = field(default_factory=list)


@dataclass
class EventData:
    slug: str
    kind: str
    title_ja: str
    title_en: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    summary_ja: str = ""
    summary_en: str = ""
    description_ja: str = ""
    description_en: str = ""
    prerequisites_ja: str = ""
    prerequisites_en: str = ""
    materials_url: str = ""
    category_slug: str | None = None
    format: str = "in_person"
    venue_name: str = ""
    venue_address: str = ""
    map_url: str = ""
    online_url: str = ""
    latitude: float | None = None
    longitude: float | None = None
    timezone: str = "Asia/Tokyo"
    language: str = "ja"
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    cancel_deadline_hours: int = 24
    refund_percent: int = 100
    ticket_types: list[TicketTypeData] = field(default_factory=list)
    questions: list[QuestionData] = field(default_factory=list)


def event_data(event: Event, **changes) -> EventData:
    """The event as its edit form would send it back unchanged, with `changes` applied."""
    values = {name: getattr(event, name) for name in EVENT_FIELDS}
    values.update(
        slug=event.slug,
        capacity=event.capacity,
        category_slug=event.category.slug if event.category else None,
        ticket_types=[
            TicketTypeData(
                slug=ticket.slug,
                name_ja=ticket.name_ja,
                name_en=ticket.name_en,
                price_minor=ticket.price_minor,
                currency=ticket.currency,
                quota=ticket.quota,
                members_only=ticket.members_only,
                member_price_minor=ticket.member_price_minor,
                sale_starts_at=ticket.sale_starts_at,
                sale_ends_at=ticket.sale_ends_at,
            )
            for ticket in event.ticket_types
        ],
        questions=[
            QuestionData(
                kind=question.kind,
                label_ja=question.label_ja,
                label_en=question.label_en,
                required=question.required,
                options=list(question.options or []),
            )
            for question in event.questions
        ],
    )
    values.update(changes)
    return EventData(**values)


def _site_pages_under_events() -> set[str]:
    """The fixed addresses under /events/ (past, my-links, …): an event named like one would
    never be reached, so those names are not free."""
    names = set()
    for rule in current_app.url_map.iter_rules():
        parts = rule.rule.split("/")
        if len(parts) == 3 and parts[1] == "events" and "<" not in parts[2]:
            names.add(parts[2])
    return names


def _check(data: EventData) -> None:
    """Every rule a person can break, with the field to blame; raises the first."""
    if not SLUG_RE.match(data.slug or "") or len(data.slug) > EVENT_SLUG_MAX:
        raise DomainError(
            _l("Use lower-case letters, digits and hyphens (at most 80)."), field="slug"
        )
    if data.slug in _site_pages_under_events():
        raise DomainError(_l("A page of the site already uses this address."), field="slug")
    if data.kind not in KINDS:
        raise DomainError(_l("Choose event or workshop."), field="kind")
    if not (data.title_ja.strip() or data.title_en.strip()):
        raise DomainError(_l("Give a title in at least one language."), field="title_en")
    if data.format not in FORMATS:
        raise DomainError(_l("Choose a format."), field="format")
    if data.language not in EVENT_LANGUAGES:
        raise DomainError(_l("Choose a language."), field="language")
    if not is_valid_timezone(data.timezone):
        raise DomainError(_l("Choose a time zone such as Asia/Tokyo."), field="timezone")
    if data.starts_at is None:
        raise DomainError(_l("Give the start."), field="starts_at")
    if data.ends_at is None or data.ends_at <= data.starts_at:
        raise DomainError(_l("The end must come after the start."), field="ends_at")
    if data.capacity is None or data.capacity < 0:
        raise DomainError(_l("The capacity cannot be negative."), field="capacity")
    if data.capacity > 100_000:
        raise DomainError(_l("The capacity is too large."), field="capacity")
    if (
        data.registration_opens_at
        and data.registration_closes_at
        and data.registration_closes_at <= data.registration_opens_at
    ):
        raise DomainError(
            _l("Registration must close after it opens."), field="registration_closes_at"
        )
    if data.refund_percent is None or not 0 <= data.refund_percent <= 100:
        raise DomainError(_l("Give a share from 0 to 100."), field="refund_percent")
    if data.cancel_deadline_hours is None or data.cancel_deadline_hours < 0:
        raise DomainError(_l("The deadline cannot be negative."), field="cancel_deadline_hours")
    if data.cancel_deadline_hours > MAX_CANCEL_DEADLINE_HOURS:
        raise DomainError(
            _l("The deadline can be at most a year before the start."),
            field="cancel_deadline_hours",
        )
    if data.format in ("in_person", "hybrid") and not data.venue_name.strip():
        raise DomainError(_l("Give the venue."), field="venue_name")
    if data.format in ("online", "hybrid") and not data.online_url.strip():
        raise DomainError(_l("Give the online link."), field="online_url")
    if (data.latitude is None) != (data.longitude is None):
        raise DomainError(
            _l("Give both the latitude and the longitude, or neither."), field="latitude"
        )
    if data.latitude is not None and not -90 <= data.latitude <= 90:
        raise DomainError(_l("A latitude is between -90 and 90."), field="latitude")
    if data.longitude is not None and not -180 <= data.longitude <= 180:
        raise DomainError(_l("A longitude is between -180 and 180."), field="longitude")
    for url_field in ("online_url", "map_url", "materials_url"):
        value = getattr(data, url_field).strip()
        if value and not value.startswith(("https://", "http://")):
            raise DomainError(_l("Give a web address starting with https://."), field=url_field)
    if not data.ticket_types:
        raise DomainError(_l("Add at least one ticket type."), field="ticket_types")
    seen = set()
    for ticket in data.ticket_types:
        if not SLUG_RE.match(ticket.slug or "") or ticket.slug in seen:
            raise DomainError(
                _l("Each ticket type needs its own short name."), field="ticket_types"
            )
        seen.add(ticket.slug)
        if not (ticket.name_ja.strip() or ticket.name_en.strip()):
            raise DomainError(_l("Name every ticket type."), field="ticket_types")
        if ticket.price_minor < 0:
            raise DomainError(_l("A price cannot be negative."), field="ticket_types")
        if ticket.price_minor > MAX_PRICE_MINOR:
            raise DomainError(_l("The price is too large."), field="ticket_types")
        if not is_known_currency(ticket.currency):
            raise DomainError(_l("Choose a known currency."), field="ticket_types")
        if ticket.quota is not None and (ticket.quota < 0 or ticket.quota > data.capacity):
            raise DomainError(
                _l("A ticket type's quota must fit inside the event's capacity."),
                field="ticket_types",
            )
        if ticket.member_price_minor is not None and not (
            0 <= ticket.member_price_minor <= ticket.price_minor
        ):
            raise DomainError(
                _l("The member price must be between zero and the price."), field="ticket_types"
            )
        if (
            ticket.sale_starts_at
            and ticket.sale_ends_at
            and ticket.sale_ends_at <= ticket.sale_starts_at
        ):
            raise DomainError(_l("A sale must end after it starts."), field="ticket_types")
    for question in data.questions:
        if question.kind not in QUESTION_KINDS:
            raise DomainError(_l("Choose a kind of question."), field="questions")
        if not (question.label_ja.strip() or question.label_en.strip()):
            raise DomainError(_l("Every question needs a text."), field="questions")
        if question.kind in ("single_choice", "multiple_choice") and len(question.options) < 2:
            raise DomainError(_l("A choice question needs two options or more."), field="questions")


def _category(slug: str | None) -> Category | None:
    if not slug:
        return None
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise DomainError(_l("There is no such category."), field="category")
    return category


# The event's own fields an organiser edits (slug and capacity have rules of their own).
EVENT_FIELDS = [
    "kind",
    "title_ja",
    "title_en",
    "summary_ja",
    "summary_en",
    "description_ja",
    "description_en",
    "prerequisites_ja",
    "prerequisites_en",
    "materials_url",
    "format",
    "venue_name",
    "venue_address",
    "map_url",
    "online_url",
    "latitude",
    "longitude",
    "starts_at",
    "ends_at",
    "timezone",
    "language",
    "registration_opens_at",
    "registration_closes_at",
    "cancel_deadline_hours",
    "refund_percent",
]
EVENT_DATETIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
# A change to these moves the event in people's calendars (SEQUENCE goes up).
_SCHEDULE_FIELDS = (
    "starts_at",
    "ends_at",
    "timezone",
    "venue_name",
    "venue_address",
    "format",
    "online_url",
    "latitude",
    "longitude",
)


def create_event(data: EventData, organiser: User) -> Event:
    _check(data)
    event = Event(
        slug=data.slug, status="draft", capacity=data.capacity, places_taken=0, sequence=0
    )
    for name in EVENT_FIELDS:
        setattr(event, name, getattr(data, name))
    event.category = _category(data.category_slug)
    event.organisers.append(organiser)
    _apply_ticket_types(event, data.ticket_types)
    _apply_questions(event, data.questions)
    db.session.add(event)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(_l("Another event already uses this address."), field="slug") from error
    return event


def _apply_ticket_types(event: Event, tickets: list[TicketTypeData]) -> None:
    existing = {ticket.slug: ticket for ticket in event.ticket_types}
    kept = []
    for position, data in enumerate(tickets):
        ticket = existing.pop(data.slug, None) or TicketType(slug=data.slug, taken=0)
        if ticket.id is not None and data.quota is not None and data.quota < ticket.taken:
            raise DomainError(
                _l(
                    "%(count)d places of this ticket type are taken: the quota cannot be lower.",
                    count=ticket.taken,
                ),
                field="ticket_types",
            )
        for name in [
            "name_ja",
            "name_en",
            "price_minor",
            "currency",
            "quota",
            "members_only",
            "member_price_minor",
            "sale_starts_at",
            "sale_ends_at",
        ]:
            setattr(ticket, name, getattr(data, name))
        ticket.currency = data.currency.upper()
        ticket.position = position
        kept.append(ticket)
    for removed in existing.values():
        if removed.taken or _has_registrations(removed):
            raise DomainError(
                _l("A ticket type with registrations cannot be removed."), field="ticket_types"
            )
    event.ticket_types = kept


def _has_registrations(ticket: TicketType) -> bool:
    if ticket.id is None:
        return False
    return bool(
        db.session.scalar(select(func.count()).where(Registration.ticket_type_id == ticket.id))
    )


def _apply_questions(event: Event, questions: list[QuestionData]) -> None:
    # Questions are replaced by position; answers already given stay with their question rows
    # as long as the question at that position survives.
    current = list(event.questions)
    kept = []
    for position, data in enumerate(questions):
        question = current[position] if position < len(current) else Question()
        question.kind = data.kind
        question.label_ja = data.label_ja
        question.label_en = data.label_en
        question.required = data.required
        question.options = data.options
        question.position = position
        kept.append(question)
    event.questions = kept


def update_event(event: Event, data: EventData) -> Event:
    """Save an organiser's changes; a capacity increase promotes from the waiting list at once.

    A new time or place (`_SCHEDULE_FIELDS`) raises the event's SEQUENCE and is e-mailed to
    everyone with a confirmed place; other changes (a typo in the description) are not.
    """
    _check(data)
    moment = utcnow()
    event_id = event.id
    with write_transaction():
        lock_event(event_id)
        event = db.session.scalar(
            select(Event)
            .where(Event.id == event_id)
            .options(selectinload(Event.ticket_types), selectinload(Event.questions))
            .execution_options(populate_existing=True)
        )
        if data.capacity < event.places_taken:
            raise DomainError(
                _l(
                    "%(count)d places are taken: the capacity cannot be lower.",
                    count=event.places_taken,
                ),
                field="capacity",
            )
        if data.slug != event.slug:
            raise DomainError(_l("The address of an event cannot change."), field="slug")
        moved = any(getattr(event, name) != getattr(data, name) for name in _SCHEDULE_FIELDS)
        for name in EVENT_FIELDS:
            setattr(event, name, getattr(data, name))
        event.category = _category(data.category_slug)
        _apply_ticket_types(event, data.ticket_types)
        _apply_questions(event, data.questions)
        event.capacity = data.capacity
        if moved:
            event.sequence += 1
        event.updated_at = moment
        db.session.flush()
        promoted = promote_waiting(event_id, moment)
        if moved and event.status == "published":
            _tell_of_change(event_id, set(promoted))
    return event


def _tell_of_change(event_id: int, told: set[int]) -> None:
    """An "event_changed" e-mail for each confirmed place, read under the event's lock; people
    promoted in this same transaction (`told`) already get the new details with their place."""
    confirmed = db.session.scalars(
        select(Registration.id)
        .where(Registration.event_id == event_id, Registration.status == "confirmed")
        .order_by(Registration.id)
    )
    for registration_id in confirmed:
        if registration_id not in told:
            tell("event_changed", registration_id)


def set_organisers(event: Event, emails: list[str]) -> list[User]:
    """Who runs the event: every address must belong to an organiser's (or admin's) account."""
    people: list[User] = []
    for address in dict.fromkeys(email_key(e) for e in emails if e.strip()):
        person = find_user_by_email(address)
        if person is None or not person.is_organiser:
            raise DomainError(
                _l("%(email)s is not the address of an organiser's account.", email=address),
                field="emails",
            )
        people.append(person)
    if not people:
        raise DomainError(_l("An event needs at least one organiser."), field="emails")
    event.organisers = people
    db.session.commit()
    return people


def publish_event(event: Event) -> None:
    if event.status != "draft":
        raise Conflict(_l("Only a draft can be published."))
    event.status = "published"
    event.updated_at = utcnow()
    db.session.commit()


# What becomes of the money paid for tickets when an event is cancelled, as its organiser chooses.
EVENT_REFUND_CHOICES = ("full", "policy", "none")


@dataclass(frozen=True)
class CancellationMoney:
    """What cancelling the event would give back: how many paid tickets, and the totals (per
    currency) of a full refund and of one by the event's refund policy."""

    paid_tickets: int
    percent: int
    full: tuple[tuple[int, str], ...]
    policy: tuple[tuple[int, str], ...]


def _by_policy(left_minor: int, percent: int) -> int:
    # As when a person cancels: the share of what is left, rounded down to the minor unit.
    return left_minor * percent // 100


def cancellation_money(event: Event) -> CancellationMoney:
    rows = db.session.execute(
        select(Registration.id, Registration.currency).where(
            Registration.event_id == event.id, Registration.status == "confirmed"
        )
    ).all()
    left = refundable_by_registration([row.id for row in rows])
    full: dict[str, int] = {}
    policy: dict[str, int] = {}
    for row in rows:
        if row.id in left:
            full[row.currency] = full.get(row.currency, 0) + left[row.id]
            share = _by_policy(left[row.id], event.refund_percent)
            policy[row.currency] = policy.get(row.currency, 0) + share
    return CancellationMoney(
        paid_tickets=len(left),
        percent=event.refund_percent,
        full=tuple((amount, currency) for currency, amount in sorted(full.items())),
        policy=tuple((amount, currency) for currency, amount in sorted(policy.items())),
    )


def cancel_event(event: Event, message: str = "", refund: str = "full") -> int:
    """Cancel the event and tell everyone registered (places, payments and waiting list alike).

    Registrations keep their status so that people's calendars and the records stay complete.
    Each checkout still open is closed at Stripe (a payment that got through meanwhile, or
    arrives later anyway, is refunded in full: events/fulfilment.py). Each paid ticket is
    refunded as the organiser chooses (`refund`): in full, by the event's refund policy
    (`refund_percent` of what is left), or not at all; each person's one e-mail says what
    becomes of their money. A refund Stripe does not answer stays recorded and is asked for
    again by `payments reconcile`. Returns how many people were told.
    """
    if refund not in EVENT_REFUND_CHOICES:
        raise DomainError(_l("Choose what happens to the money paid for tickets."), field="refund")
    event_id = event.id
    # One e-mail each: the cancellation is told in its own transaction, and the money (also
    # money that wins the race with the closing checkout) joins it in the same e-mail.
    with one_email_each():
        with write_transaction():
            lock_event(event_id)
            event = db.session.get(Event, event_id, populate_existing=True)
            if event.status == "cancelled":
                raise Conflict(_l("This event is already cancelled."))
            event.status = "cancelled"
            event.sequence += 1
            event.updated_at = utcnow()
            percent = event.refund_percent
            rows = db.session.execute(
                select(Registration.id, Registration.status)
                .where(Registration.event_id == event_id, Registration.status.in_(ACTIVE))
                .order_by(Registration.id)
            ).all()
            for row in rows:
                extra: dict = {"message": message.strip()}
                if row.status == "awaiting_payment":
                    extra["unpaid"] = True
                tell("event_cancelled", row.id, **extra)
        for row in rows:
            if row.status == "awaiting_payment":
                outcome = payments.close_checkouts("ticket", str(row.id))
                if outcome == "unknown":
                    log.warning(
                        "event %s cancelled: checkout of %s not closed yet", event_id, row.id
                    )
        for row in rows:
            if row.status == "confirmed":
                _give_back_after_cancelling(row.id, event_id, refund, percent)
    return len(rows)


def _give_back_after_cancelling(registration_id: int, event_id: int, refund: str, percent: int):
    order = payments.paid_order_for("ticket", str(registration_id))
    left = payments.refundable_minor(order) if order is not None else 0
    if left == 0:
        return
    amount = {"full": left, "policy": _by_policy(left, percent), "none": 0}[refund]
    told = MoneyNews(
        currency=order.currency,
        paid_minor=left,
        refund_minor=amount,
        share=percent if refund == "policy" and percent < 100 else None,
    )
    if amount > 0:
        try:
            made = payments.refund_order(
                order,
                amount,
                reason=f"event cancelled ({refund})",
                interactive=False,
                tell_buyer=False,  # the cancellation's e-mail says it
            )
        except DomainError as error:
            log.error(
                "event %s cancelled: refund for %s not started: %s",
                event_id,
                registration_id,
                error,
            )
            told.failed = True
        else:
            told.failed = made.status == "failed"
    tell_refund(registration_id, told)


def duplicate_event(event: Event, organiser: User) -> Event:
    """A draft copy with a new address, the same tickets and questions, and no registrations."""
    base = f"{event.slug[:60]}-copy"
    slug = base
    while db.session.scalar(select(Event.id).where(Event.slug == slug)):
        slug = f"{base}-{secrets.token_hex(2)}"
    copy = Event(slug=slug, status="draft", capacity=event.capacity, places_taken=0)
    for name in EVENT_FIELDS:
        setattr(copy, name, getattr(event, name))
    copy.category_id = event.category_id
    copy.cover_image = event.cover_image
    copy.organisers = list(event.organisers)
    if organiser not in copy.organisers:
        copy.organisers.append(organiser)
    for ticket in event.ticket_types:
        copy.ticket_types.append(
            TicketType(
                slug=ticket.slug,
                name_ja=ticket.name_ja,
                name_en=ticket.name_en,
                price_minor=ticket.price_minor,
                currency=ticket.currency,
                quota=ticket.quota,
                members_only=ticket.members_only,
                member_price_minor=ticket.member_price_minor,
                position=ticket.position,
                taken=0,
            )
        )
    for question in event.questions:
        copy.questions.append(
            Question(
                kind=question.kind,
                label_ja=question.label_ja,
                label_en=question.label_en,
                options=list(question.options or []),
                required=question.required,
                position=question.position,
            )
        )
    db.session.add(copy)
    db.session.commit()
    return copy
