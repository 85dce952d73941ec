"""Reading events: public lists with filters and pages, one event, what an organiser runs.

Every list query has a fixed number of statements whatever the number of events: ticket types
and categories are loaded with the events, never one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import String, bindparam, cast, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from community.accounts.models import User
from community.core.db import db, utcnow
from community.core.text import SHORT_SLUG_MAX
from community.events.models import (
    ACTIVE,
    EVENT_LANGUAGES,
    FORMATS,
    KINDS,
    Category,
    Event,
    Registration,
    event_organisers,
)

__all__ = [
    "EventFilters",
    "Page",
    "StampsDigest",
    "can_manage",
    "categories",
    "event_stamps",
    "event_stamps_digest",
    "events_run_by",
    "events_with_ids",
    "find_category",
    "find_visible_event",
    "get_published_event",
    "list_events",
    "past_events",
    "person_registrations",
    "upcoming_events",
    "waitlist_lengths",
]

PUBLIC_STATUSES = ("published", "cancelled")


@dataclass(frozen=True)
class EventFilters:
    kind: str | None = None
    category: str | None = None
    format: str | None = None
    language: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None

    @classmethod
    def from_args(cls, args) -> EventFilters:
        """Unknown values are ignored rather than refused: a filter link never breaks the page."""

        def pick(name, allowed):
            value = (args.get(name) or "").strip()
            return value if value in allowed else None

        category = (args.get("category") or "").strip()[:SHORT_SLUG_MAX] or None
        return cls(
            kind=pick("kind", KINDS),
            category=category,
            format=pick("format", FORMATS),
            language=pick("language", EVENT_LANGUAGES),
        )

    def apply(self, query):
        if self.kind:
            query = query.where(Event.kind == self.kind)
        if self.format:
            query = query.where(Event.format == self.format)
        if self.language:
            # A bilingual event suits readers of either language.
            query = query.where(Event.language.in_((self.language, "ja_en")))
        if self.category:
            query = query.join(Category, Event.category_id == Category.id).where(
                Category.slug == self.category
            )
        if self.starts_from:
            query = query.where(Event.starts_at >= self.starts_from)
        if self.starts_before:
            query = query.where(Event.starts_at < self.starts_before)
        return query


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _with_tickets(query):
    return query.options(selectinload(Event.ticket_types))


def list_events(
    filters: EventFilters = EventFilters(),
    *,
    past: bool = False,
    page: int = 1,
    per_page: int = 20,
    with_tickets: bool = True,
) -> Page:
    """Upcoming (or past) public events, one page: one query, and one for the ticket types when
    `with_tickets` (the HTML cards do not show them; the API does)."""
    page = max(page, 1)
    now = utcnow()
    query = select(Event).where(Event.status.in_(PUBLIC_STATUSES))
    if past:
        query = query.where(Event.ends_at < now).order_by(Event.starts_at.desc(), Event.id.desc())
    else:
        query = query.where(Event.ends_at >= now).order_by(Event.starts_at, Event.id)
    query = filters.apply(query).limit(per_page + 1).offset((page - 1) * per_page)
    events = list(db.session.scalars(_with_tickets(query) if with_tickets else query))
    return Page(events[:per_page], page, per_page, has_next=len(events) > per_page)


def upcoming_events(limit: int = 6) -> list[Event]:
    return list_events(per_page=limit, with_tickets=False).items


def past_events(limit: int = 50) -> list[Event]:
    return list_events(past=True, per_page=limit, with_tickets=False).items


def _stamps_query(filters: EventFilters, *columns):
    query = (
        select(*columns)
        .select_from(Event)
        .outerjoin(Category, Event.category_id == Category.id)
        .where(Event.status.in_(PUBLIC_STATUSES))
        .order_by(Event.starts_at, Event.id)
    )
    category = filters.category
    query = replace(filters, category=None).apply(query)
    if category:
        query = query.where(Category.slug == category)
    return query


def event_stamps(filters: EventFilters) -> list:
    """Per public event (earliest first): its id, modification stamp, sequence, status and
    category; what calendars build a feed from."""
    return list(
        db.session.execute(
            _stamps_query(
                filters,
                Event.id,
                Event.updated_at,
                Event.sequence,
                Event.status,
                Category.slug,
                Category.name_ja,
                Category.name_en,
            )
        )
    )


@dataclass(frozen=True)
class StampsDigest:
    lines: str
    newest: datetime | None


def event_stamps_digest(filters: EventFilters) -> StampsDigest:
    """The same stamps as `event_stamps`, joined into one text by the database (one row back
    instead of one per event), and the newest stamp: what calendars compare on every request
    to tell whether a feed changed. The statement is built once per kind of filter."""
    shape = replace(filters, starts_from=None)
    statement = _digest_statements.get(shape)
    if statement is None:
        statement = _digest_statements[shape] = _digest_statement(shape)
    lines, newest = db.session.execute(
        statement, {"starts_from": filters.starts_from or datetime.min.replace(tzinfo=UTC)}
    ).one()
    return StampsDigest(lines or "", newest)


_digest_statements: dict[EventFilters, object] = {}


def _digest_statement(shape: EventFilters):
    text = String()
    line = (
        cast(Event.id, text)
        + "|"
        + cast(Event.updated_at, text)
        + "|"
        + cast(Event.sequence, text)
        + "|"
        + Event.status
        + "|"
        + func.coalesce(Category.slug, "")
        + "|"
        + func.coalesce(Category.name_ja, "")
        + "|"
        + func.coalesce(Category.name_en, "")
    )
    ordered = (
        _stamps_query(shape, line.label("line"), Event.updated_at.label("updated_at"))
        .where(Event.starts_at >= bindparam("starts_from", type_=Event.starts_at.type))
        .subquery()
    )
    return select(func.aggregate_strings(ordered.c.line, "\n"), func.max(ordered.c.updated_at))


def events_with_ids(ids: list[int]) -> list[Event]:
    """Public events by id, in the order given (categories come with them)."""
    if not ids:
        return []
    query = select(Event).where(Event.id.in_(ids), Event.status.in_(PUBLIC_STATUSES))
    found = {event.id: event for event in db.session.scalars(query)}
    return [found[event_id] for event_id in ids if event_id in found]


def person_registrations(
    *, user_id: int | None, email: str | None, starts_from: datetime
) -> list[Registration]:
    """One person's active registrations for public events from `starts_from` on, earliest
    first: by account (and the account's address), or by address alone for a guest."""
    owner = []
    if user_id is not None:
        owner.append(Registration.user_id == user_id)
    if email:
        owner.append(Registration.email == email)
    if not owner:
        return []
    query = (
        select(Registration)
        .join(Event, Registration.event_id == Event.id)
        .where(
            or_(*owner),
            Registration.status.in_(ACTIVE),
            Event.status.in_(PUBLIC_STATUSES),
            Event.starts_at >= starts_from,
        )
        .options(contains_eager(Registration.event))
        .order_by(Event.starts_at, Event.id, Registration.id)
    )
    return list(db.session.scalars(query).unique())


def find_category(slug: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.slug == slug[:SHORT_SLUG_MAX]))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.slug)))


def get_published_event(slug: str) -> Event | None:
    """A public event (published or cancelled) with its ticket types and questions loaded."""
    query = select(Event).where(Event.slug == slug, Event.status.in_(PUBLIC_STATUSES))
    query = query.options(selectinload(Event.ticket_types), selectinload(Event.questions))
    return db.session.scalar(query)


def can_manage(user: User | None, event: Event) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    if not user.is_organiser:
        return False
    return (
        db.session.scalar(
            select(event_organisers.c.user_id).where(
                event_organisers.c.event_id == event.id, event_organisers.c.user_id == user.id
            )
        )
        is not None
    )


def find_visible_event(slug: str, viewer: User | None) -> Event | None:
    """The event if the viewer may see it: public ones for all, drafts for their organisers."""
    query = select(Event).where(Event.slug == slug)
    query = query.options(selectinload(Event.ticket_types), selectinload(Event.questions))
    event = db.session.scalar(query)
    if event is None:
        return None
    if event.status != "draft" or can_manage(viewer, event):
        return event
    return None


def events_run_by(user: User) -> list[Event]:
    query = select(Event).order_by(Event.starts_at.desc(), Event.id.desc())
    if not user.is_admin:
        query = query.join(event_organisers).where(event_organisers.c.user_id == user.id)
    return list(db.session.scalars(query))


def waitlist_lengths(event_ids: list[int]) -> dict[int, int]:
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(Registration.event_id, func.count())
        .where(Registration.event_id.in_(event_ids), Registration.status == "waitlisted")
        .group_by(Registration.event_id)
    )
    return dict(rows.all())
