"""The calendar tests' world: a clock frozen on 1 March 2027 (between New York's and London's
changes to summer time) and a realistic set of events: two categories, both kinds, a cancelled
event, a draft, past events inside and outside the feeds' 30-day window, an event in London
across the change to summer time, one in New York, and Japanese text full of the characters
iCalendar escapes. One person (an account, in Japanese) registered for several of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import func, or_, select

from community.calendar import services as calendar_services
from community.core.db import db, utcnow
from community.events import services as event_services
from community.events.models import ACTIVE, Category, Event, Registration
from community.events.services import TicketTypeData, event_data  # noqa: F401 (re-exported)

# Data is made on SET_UP, when every event is still ahead and open for registration; the tests
# then look at it on NOW.
SET_UP = datetime(2027, 1, 5, 0, 0, tzinfo=UTC)
NOW = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)

# Every character a TEXT value escapes (RFC 5545 3.3.11), among Japanese ones.
TRICKY_TITLE_JA = "勉強会, 懇親会; 特別回 \\ 第1部"
TRICKY_SUMMARY_JA = "1行目, カンマ; セミコロン \\ バックスラッシュ\n2行目: 東京、渋谷"


@pytest.fixture
def clock(app):
    """The frozen clock, standing on NOW; `clock.move_to(...)` or `clock.shift(...)` moves it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def make_category(app):
    def factory(slug: str, name_ja: str, name_en: str) -> Category:
        category = Category(slug=slug, name_ja=name_ja, name_en=name_en)
        db.session.add(category)
        db.session.commit()
        return category

    return factory


def at(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    events: dict[str, Event]
    person: object
    registrations: dict[str, Registration] = field(default_factory=dict)


@pytest.fixture
def world(clock, make_event, make_category, make_user, register) -> World:
    clock.move_to(SET_UP)
    make_category("career", "キャリア", "Career")
    make_category("ml", "機械学習", "Machine learning")

    def timed(start: datetime, hours: float = 2, **changes) -> Event:
        return make_event(starts_at=start, ends_at=start + timedelta(hours=hours), **changes)

    events = {
        "tokyo": timed(
            at(2027, 3, 5, 10),
            slug="tokyo-study-night",
            title_ja=TRICKY_TITLE_JA,
            title_en="Study night, drinks; part \\ one",
            summary_ja=TRICKY_SUMMARY_JA,
            summary_en="Line one, with a comma; a semicolon \\ a backslash\nLine two",
            venue_name="渋谷ホール, 3階; 会議室A",
            venue_address="東京都渋谷区1-2-3",
            latitude=35.658,
            longitude=139.7016,
            category_slug="career",
        ),
        "workshop": timed(
            at(2027, 3, 20, 1),
            hours=3,
            slug="ml-workshop",
            kind="workshop",
            title_ja="機械学習ワークショップ",
            title_en="Machine learning workshop",
            format="hybrid",
            online_url="https://meet.example.com/ml-workshop",
            category_slug="ml",
        ),
        "london": timed(
            # 00:30 GMT to 03:30 BST: the clocks go forward at 01:00 UTC on 28 March 2027.
            at(2027, 3, 28, 0, 30),
            slug="london-night",
            title_ja="ロンドン夜会",
            title_en="London night",
            venue_name="Shoreditch Hall",
            timezone="Europe/London",
            category_slug="career",
        ),
        "new_york": timed(
            at(2027, 3, 16, 23),
            slug="new-york-online",
            title_ja="ニューヨーク オンライン",
            title_en="New York online",
            format="online",
            venue_name="",
            online_url="https://meet.example.com/new-york",
            timezone="America/New_York",
            capacity=1,
        ),
        "paid": timed(
            at(2027, 4, 2, 9),
            slug="paid-online-workshop",
            kind="workshop",
            title_ja="有料オンライン講座",
            title_en="Paid online course",
            format="online",
            venue_name="",
            online_url="https://meet.example.com/paid",
            tickets=[TicketTypeData(slug="paid", name_ja="有料", name_en="Paid", price_minor=3000)],
            category_slug="ml",
        ),
        "cancelled": timed(
            at(2027, 3, 12, 9),
            slug="cancelled-meetup",
            title_ja="中止の会",
            title_en="Cancelled meetup",
            category_slug="ml",
        ),
        "draft": timed(
            at(2027, 3, 8, 9),
            publish=False,
            slug="draft-idea",
            title_ja="下書き",
            title_en="Draft idea",
            category_slug="career",
        ),
        "recent_past": timed(
            at(2027, 2, 19, 9), slug="recent-past", kind="workshop", category_slug="career"
        ),
        "old_past": timed(at(2027, 1, 20, 9), slug="old-past", category_slug="ml"),
    }
    person = make_user(email="mika@example.com", name="Mika", locale="ja")
    mine = {}
    for name in ("tokyo", "workshop", "cancelled", "recent_past", "old_past", "paid"):
        mine[name] = event_services.register_for_event(
            events[name].slug, name="Mika", email=person.email, user=person, language="ja"
        )
    register(events["new_york"], 1)
    mine["new_york"] = event_services.register_for_event(
        events["new_york"].slug, name="Mika", email=person.email, user=person, language="ja"
    )
    event_services.cancel_event(events["cancelled"])
    clock.move_to(NOW)
    return World(events, person, mine)


def public_count(*, kind: str | None = None, category: str | None = None) -> int:
    """How many events a public feed should hold, counted straight from the tables."""
    query = (
        select(func.count())
        .select_from(Event)
        .where(
            Event.status.in_(("published", "cancelled")),
            Event.starts_at >= utcnow() - timedelta(days=30),
        )
    )
    if kind:
        query = query.where(Event.kind == kind)
    if category:
        query = query.join(Category, Event.category_id == Category.id).where(
            Category.slug == category
        )
    return db.session.scalar(query)


def private_count(user) -> int:
    """How many events a person's feed should hold: one per event they are still registered for."""
    return db.session.scalar(
        select(func.count(func.distinct(Registration.event_id)))
        .join(Event, Registration.event_id == Event.id)
        .where(
            or_(Registration.user_id == user.id, Registration.email == user.email),
            Registration.status.in_(ACTIVE),
            Event.status.in_(("published", "cancelled")),
            Event.starts_at >= utcnow() - timedelta(days=30),
        )
    )


def private_path(user) -> str:
    return f"/calendar/u/{calendar_services.feed_for_user(user).token}.ics"


def vevents(body: bytes) -> dict[str, object]:
    """The VEVENTs of a calendar by their event's slug (the last part of their URL)."""
    found = {}
    for component in Calendar.from_ical(body).walk("VEVENT"):
        found[str(component["URL"]).rsplit("/", 1)[-1]] = component
    return found
