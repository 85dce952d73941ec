"""Reading events: public lists with filters and pages, one event, what an organiser runs.

Every list query has a fixed number of statements whatever the number of events: ticket types
and categories are loaded with the events, never one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from community.accounts.models import User
from community.core.db import db, read_rows, utcnow
from community.core.text import EVENT_SLUG_MAX, SHORT_SLUG_MAX
from community.core.versions import content_version
from community.core.window import window_read
from community.events.models import (
    ACTIVE,
    EVENT_LANGUAGES,
    FORMATS,
    KINDS,
    STATUSES,
    Category,
    Event,
    Registration,
    RegistrationWindow,
    SaleWindow,
    TicketType,
    event_organisers,
)

__all__ = [
    "CardStamp",
    "EventFilters",
    "Page",
    "PageStamp",
    "can_manage",
    "catalog_version",
    "categories",
    "event_page_stamp",
    "event_stamps",
    "events_run_by",
    "events_with_ids",
    "find_category",
    "find_visible_event",
    "get_published_event",
    "list_event_stamps",
    "list_events",
    "past_events",
    "person_registrations",
    "ticket_counters",
    "upcoming_event_stamps",
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


# Every status but a draft is public: the lists say so as `status <> 'draft'`, which leaves the
# databases free to walk the events in order (ix_events_starts_at_id) and stop at the page's end,
# instead of sorting every upcoming event for each page.
if set(STATUSES) - {"draft"} != set(PUBLIC_STATUSES):  # pragma: no cover - a new status
    raise RuntimeError("the event lists assume every status but draft is public")


def _listing(filters: EventFilters, past: bool, query, page: tuple[int, int] | None = None):
    """The list's statement for `page` (number, size); without one, a statement to keep, whose
    `now`, `limit` and `offset` are bind parameters."""
    now = bindparam("now", type_=Event.ends_at.type) if page is None else utcnow()
    query = query.where(Event.status != "draft")
    if past:
        # An event that ended also started: the walk back starts at now, not at the last event.
        query = query.where(Event.ends_at < now, Event.starts_at < now)
        query = query.order_by(Event.starts_at.desc(), Event.id.desc())
    else:
        query = query.where(Event.ends_at >= now).order_by(Event.starts_at, Event.id)
    query = filters.apply(query)
    if page is not None:
        number, size = page
        return query.limit(size + 1).offset((number - 1) * size)
    return query.limit(bindparam("limit")).offset(bindparam("offset"))


_stamp_statements: dict[tuple, object] = {}
_STAMP_STATEMENTS_MAX = 256


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
    query = _listing(filters, past, select(Event), (page, per_page))
    events = list(db.session.scalars(_with_tickets(query) if with_tickets else query))
    return Page(events[:per_page], page, per_page, has_next=len(events) > per_page)


@dataclass(frozen=True)
class CardStamp:
    """What an event's card shows that can change without the events' version: its counters,
    with what identifies the card's rendering (`event_card`)."""

    id: int
    updated_at: datetime
    status: str
    capacity: int | None
    places_taken: int
    category_id: int | None


_CARD_COLUMNS = (
    Event.id,
    Event.updated_at,
    Event.status,
    Event.capacity,
    Event.places_taken,
    Event.category_id,
)


def list_event_stamps(
    filters: EventFilters = EventFilters(),
    *,
    past: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """The same page as `list_events`, as the cards' stamps only (one light query, no objects):
    a list page whose stamps and version it has rendered before needs nothing more; the events
    themselves are read (`events_with_ids`) only to render what changed."""
    page = max(page, 1)
    shape = (filters, past)
    statement = _stamp_statements.get(shape)
    if statement is None:
        # Built once per kind of list (a filter's values are few: kinds, formats, categories).
        statement = _listing(filters, past, select(*_CARD_COLUMNS))
        if len(_stamp_statements) < _STAMP_STATEMENTS_MAX:
            _stamp_statements[shape] = statement
    values = {"now": utcnow(), "limit": per_page + 1, "offset": (page - 1) * per_page}
    stamps = window_read(
        ("list-stamps", shape, page, per_page),
        lambda: [CardStamp(*row) for row in read_rows(statement, values)],
    )
    return Page(stamps[:per_page], page, per_page, has_next=len(stamps) > per_page)


def upcoming_event_stamps(limit: int = 6) -> list[CardStamp]:
    return list_event_stamps(per_page=limit).items


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
class TicketStamp(SaleWindow):
    id: int
    quota: int | None
    taken: int
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None


@dataclass(frozen=True)
class PageStamp(RegistrationWindow):
    """What an event's page shows that can change: its stamp, status and counters, and its
    ticket types' counters and sale windows (one light query: `event_page_stamp`)."""

    id: int
    slug: str
    status: str
    updated_at: datetime
    starts_at: datetime
    ends_at: datetime
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    capacity: int
    places_taken: int
    tickets: tuple[TicketStamp, ...]

    def key(self, moment: datetime) -> tuple:
        """The page's state at `moment`: the same key, the same page (for one language)."""
        return (
            self.id,
            self.updated_at,
            self.status,
            self.capacity,
            self.places_taken,
            self.registration_open_at(moment),
            bool(self.registration_opens_at and moment < self.registration_opens_at),
            tuple((t.id, t.quota, t.taken, t.on_sale_at(moment)) for t in self.tickets),
        )


_PAGE_STAMP = (
    select(
        Event.id,
        Event.slug,
        Event.status,
        Event.updated_at,
        Event.starts_at,
        Event.ends_at,
        Event.registration_opens_at,
        Event.registration_closes_at,
        Event.capacity,
        Event.places_taken,
        TicketType.id,
        TicketType.quota,
        TicketType.taken,
        TicketType.sale_starts_at,
        TicketType.sale_ends_at,
    )
    .outerjoin(TicketType, TicketType.event_id == Event.id)
    .where(Event.slug == bindparam("slug"))
    .order_by(TicketType.position, TicketType.id)
)


def event_page_stamp(slug: str) -> PageStamp | None:
    """The stamp of any event (drafts too: the caller decides who may see it), or None."""
    slug = slug[:EVENT_SLUG_MAX]
    return window_read(("page-stamp", slug), lambda: _read_page_stamp(slug))


def _read_page_stamp(slug: str) -> PageStamp | None:
    rows = read_rows(_PAGE_STAMP, {"slug": slug}).all()
    if not rows:
        return None
    tickets = tuple(TicketStamp(*row[10:]) for row in rows if row[10] is not None)
    return PageStamp(*rows[0][:10], tickets=tickets)


_TICKET_COUNTERS = (
    select(TicketType.event_id, TicketType.id, TicketType.quota, TicketType.taken)
    .where(TicketType.event_id.in_(bindparam("ids", expanding=True)))
    .order_by(TicketType.event_id, TicketType.position, TicketType.id)
)


def ticket_counters(event_ids: list[int]) -> dict[int, tuple]:
    """Per event, its ticket types' ids, quotas and places taken (one light query): what the
    JSON API shows of tickets that can change without the events' version."""
    found: dict[int, tuple] = dict.fromkeys(event_ids, ())
    if not event_ids:
        return found
    for event_id, *counters in read_rows(_TICKET_COUNTERS, {"ids": list(event_ids)}):
        found[event_id] = (*found[event_id], tuple(counters))
    return found


def catalog_version() -> int:
    """The version of what public calendars show of events: one small read that changes, in
    the same transaction, with any event or category change the feeds show (core/versions.py)."""
    return content_version("events")


def events_with_ids(ids: list[int], *, with_tickets: bool = False) -> list[Event]:
    """Public events by id, in the order given (categories come with them, and their ticket
    types with `with_tickets`: the cards show prices)."""
    if not ids:
        return []
    query = select(Event).where(Event.id.in_(ids), Event.status.in_(PUBLIC_STATUSES))
    if with_tickets:
        query = _with_tickets(query)
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
