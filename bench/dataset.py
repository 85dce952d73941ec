"""Bulk data for the benchmarks: `python -m bench.dataset --events 1000 --registrations 100000`.

Run as a subprocess with DATABASE_URL set (bench.run does so after the migrations and seed-demo).
The rows are written with SQLAlchemy Core bulk inserts in one transaction, not through the
services, which would send an e-mail per registration. Statuses are decided in queue order as the
registration engine would decide them, the counters (places_taken, taken) are computed from them,
and a recount checks every counter against the rows before the commit. Two more modes serve the
registration burst: `--burst-event PLACES` creates an empty event, `--count SLUG` reports what the
database holds for it. Every mode ends with one line `BENCH-JSON {...}` that bench.run reads.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.errors import BenchError

RESULT_PREFIX = "BENCH-JSON "
BATCH_SIZE = 5_000
DEFAULT_PREFIX = "bench"
TOKYO = ZoneInfo("Asia/Tokyo")

# Share of events drawing a crowd (about 1.3 times their capacity): they have waiting lists.
POPULAR_SHARE = 0.12
POPULAR_WEIGHT = 2.2
PAID_SHARE = 0.25
CANCELLED_SHARE = 0.06
AWAITING_PAYMENT_SHARE = 0.05  # of the paid places of upcoming events
CHECKED_IN_SHARE = 0.8  # of the confirmed attendees of past events

TOPICS = [
    ("Python入門", "Introduction to Python"),
    ("データ分析の基礎", "Data analysis basics"),
    ("SQLチューニング", "SQL tuning"),
    ("はじめてのRust", "First steps in Rust"),
    ("フロントエンド勉強会", "Front-end study group"),
    ("キャリア相談会", "Career clinic"),
    ("コードレビューの技術", "The craft of code review"),
    ("クラウド設計", "Designing for the cloud"),
    ("アクセシビリティ入門", "Accessibility from scratch"),
    ("機械学習ハンズオン", "Hands-on machine learning"),
    ("テスト駆動開発", "Test-driven development"),
    ("OSSへの貢献", "Contributing to open source"),
]
VENUES = [
    ("渋谷コミュニティホール", "東京都渋谷区渋谷2-1-1"),
    ("Roppongi Tech Lab", "東京都港区六本木6-10-1"),
    ("大阪ナレッジスペース", "大阪府大阪市北区大深町3-1"),
    ("Fukuoka Startup Café", "福岡県福岡市中央区大名2-6-11"),
]
GIVEN_NAMES = ["Yui", "Haruto", "Mei", "Sota", "Aoi", "Ren", "Emma", "Liam", "Sara", "Noah"]
FAMILY_NAMES = ["Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Chen", "Park", "Kato", "Smith"]
DESCRIPTION_JA = (
    "## 内容\n\n- {topic}の概要\n- 手を動かす演習\n- 質疑応答と交流\n\n"
    "初めての方も歓迎します。資料は[こちら](https://example.org/materials)で公開します。"
)
DESCRIPTION_EN = (
    "## Programme\n\n- An overview of {topic}\n- Hands-on exercises\n- Questions and mingling\n\n"
    "Newcomers are welcome. Materials are published [here](https://example.org/materials)."
)


@dataclass
class PlannedEvent:
    slug: str
    kind: str
    format: str
    language: str
    category_id: int
    topic: tuple[str, str]
    starts_at: datetime
    capacity: int
    paid_quota: int
    price_minor: int
    # (ticket index 0 = free, 1 = paid; status), in queue order.
    registrations: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(hours=3 if self.kind == "workshop" else 2)

    @property
    def quotas(self) -> tuple[int, int]:
        return self.capacity - self.paid_quota, self.paid_quota

    def taken(self) -> tuple[int, int]:
        counts = [0, 0]
        for ticket, status in self.registrations:
            if status in ("confirmed", "awaiting_payment", "offered"):
                counts[ticket] += 1
        return counts[0], counts[1]


# --- the plan: pure Python, no database ----------------------------------------------------------


def _start_for(index: int, now: datetime, rng: random.Random) -> datetime:
    # One event in seven is in the past; the others spread over the next two years. Event 0 is
    # always upcoming, so that a detail page can be chosen even from a handful of events.
    days = rng.randint(-365, -1) if index % 7 == 6 else rng.randint(1, 730)
    day = (now.astimezone(TOKYO) + timedelta(days=days)).date()
    hour = rng.choice((10, 13, 19))
    return datetime(day.year, day.month, day.day, hour, tzinfo=TOKYO).astimezone(UTC)


def _decide_statuses(event: PlannedEvent, count: int, now: datetime, rng: random.Random) -> None:
    """Queue order decides, as in the registration engine: a place while the ticket type and the
    event have one, the waiting list after. Cancelled rows never held a place, so no promotion
    is owed to anyone waiting."""
    past = event.starts_at < now
    quotas = event.quotas
    taken = [0, 0]
    for _ in range(count):
        ticket = 1 if rng.random() < PAID_SHARE else 0
        if rng.random() < CANCELLED_SHARE:
            status = "cancelled"
        elif taken[ticket] < quotas[ticket] and sum(taken) < event.capacity:
            taken[ticket] += 1
            awaiting = ticket == 1 and not past and rng.random() < AWAITING_PAYMENT_SHARE
            status = "awaiting_payment" if awaiting else "confirmed"
        else:
            status = "waitlisted"
        event.registrations.append((ticket, status))


def plan(
    event_count: int,
    registration_count: int,
    category_ids: list[int],
    prefix: str,
    now: datetime,
    rng: random.Random,
) -> list[PlannedEvent]:
    events = []
    for index in range(event_count):
        kind = "workshop" if rng.random() < 0.3 else "event"
        events.append(
            PlannedEvent(
                slug=f"{prefix}-{kind}-{index:05d}",
                kind=kind,
                format=rng.choice(("in_person", "in_person", "online", "hybrid")),
                language=rng.choice(("ja", "ja", "en", "ja_en")),
                category_id=rng.choice(category_ids),
                topic=rng.choice(TOPICS),
                starts_at=_start_for(index, now, rng),
                capacity=rng.randint(120, 180),
                paid_quota=rng.choice((20, 30, 40)),
                price_minor=rng.choice((1000, 1500, 2000, 3000)),
            )
        )
    weights = [POPULAR_WEIGHT if rng.random() < POPULAR_SHARE else 1.0 for _ in events]
    per_event = Counter(rng.choices(range(event_count), weights=weights, k=registration_count))
    for index, event in enumerate(events):
        _decide_statuses(event, per_event[index], now, rng)
    return events


def choose_detail_event(events: list[PlannedEvent], now: datetime) -> PlannedEvent:
    """A typical page: upcoming in a few weeks, with a venue, registrations and places left."""
    soon = now + timedelta(days=14)
    upcoming = sorted((e for e in events if e.starts_at > now), key=lambda e: e.starts_at)
    if not upcoming:
        raise BenchError("the dataset has no upcoming event to measure the detail page with")
    for event in upcoming:
        if (
            event.starts_at >= soon
            and event.format != "online"
            and event.registrations
            and sum(event.taken()) < event.capacity
        ):
            return event
    return upcoming[0]


# --- rows ----------------------------------------------------------------------------------------


def _event_row(event: PlannedEvent, now: datetime) -> dict:
    topic_ja, topic_en = event.topic
    number = event.slug.rsplit("-", 1)[-1]
    created_at = min(now, event.starts_at) - timedelta(days=60)
    venue_name, venue_address = VENUES[int(number) % len(VENUES)]
    has_venue = event.format in ("in_person", "hybrid")
    is_online = event.format in ("online", "hybrid")
    gathering_ja = "ワークショップ" if event.kind == "workshop" else "勉強会"
    return {
        "slug": event.slug,
        "kind": event.kind,
        "status": "published",
        "title_ja": f"{topic_ja} #{int(number)}",
        "title_en": f"{topic_en} #{int(number)}",
        "summary_ja": f"{topic_ja}を一緒に学ぶ{gathering_ja}。",
        "summary_en": f"A {event.kind} to learn {topic_en.lower()} together.",
        "description_ja": DESCRIPTION_JA.format(topic=topic_ja),
        "description_en": DESCRIPTION_EN.format(topic=topic_en.lower()),
        "prerequisites_ja": "ノートPCをお持ちください。" if event.kind == "workshop" else "",
        "prerequisites_en": "Bring a laptop." if event.kind == "workshop" else "",
        "materials_url": "https://example.org/materials" if event.kind == "workshop" else "",
        "category_id": event.category_id,
        "format": event.format,
        "venue_name": venue_name if has_venue else "",
        "venue_address": venue_address if has_venue else "",
        "map_url": "https://maps.example.org/?q=venue" if has_venue else "",
        "online_url": f"https://meet.example.org/{event.slug}" if is_online else "",
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "timezone": "Asia/Tokyo",
        "language": event.language,
        "capacity": event.capacity,
        "places_taken": sum(event.taken()),
        "registration_opens_at": created_at,
        "registration_closes_at": None,
        "cancel_deadline_hours": 24,
        "cover_image": "",
        "sequence": 0,
        "created_at": created_at,
        "updated_at": created_at,
    }


def _ticket_rows(event: PlannedEvent, event_id: int) -> list[dict]:
    free_quota, paid_quota = event.quotas
    free_taken, paid_taken = event.taken()
    common = {"event_id": event_id, "currency": "JPY", "members_only": False}
    common |= {"sale_starts_at": None, "sale_ends_at": None}
    return [
        common
        | {
            "slug": "general",
            "name_ja": "一般",
            "name_en": "General",
            "price_minor": 0,
            "member_price_minor": None,
            "quota": free_quota,
            "taken": free_taken,
            "position": 0,
        },
        common
        | {
            "slug": "supporter",
            "name_ja": "サポーター",
            "name_en": "Supporter",
            "price_minor": event.price_minor,
            "member_price_minor": event.price_minor // 2,
            "quota": paid_quota,
            "taken": paid_taken,
            "position": 1,
        },
    ]


def _registration_rows(
    event: PlannedEvent,
    event_id: int,
    ticket_ids: tuple[int, int],
    prices: tuple[int, int],
    people: int,
    now: datetime,
    rng: random.Random,
):
    count = len(event.registrations)
    if not count:
        return
    # Registrations arrive over the six weeks before the start (or before now, if that is sooner).
    window_end = min(now - timedelta(minutes=5), event.starts_at - timedelta(days=1))
    span = 42 * 24 * 3600
    offsets = sorted(rng.uniform(0, span) for _ in range(count))
    persons = rng.sample(range(people), count)  # distinct addresses within one event
    past = event.starts_at < now
    for (ticket, status), offset, person in zip(event.registrations, offsets, persons, strict=True):
        queued_at = window_end - timedelta(seconds=span - offset)
        confirmed = status == "confirmed"
        attended = past and confirmed
        checked_in = attended and rng.random() < CHECKED_IN_SHARE
        checked_in_at = event.starts_at + timedelta(minutes=rng.randint(-20, 30))
        hold_expires_at = now + timedelta(minutes=30)
        yield {
            "event_id": event_id,
            "ticket_type_id": ticket_ids[ticket],
            "user_id": None,
            "name": f"{GIVEN_NAMES[person % 10]} {FAMILY_NAMES[person // 10 % 9]}",
            "email": f"person{person:06d}@example.com",
            "locale": "en" if person % 3 == 0 else "ja",
            "status": status,
            "price_minor": prices[ticket],
            "currency": "JPY",
            "ticket_code": secrets.token_urlsafe(12),
            "manage_nonce": secrets.token_hex(8),
            "created_at": queued_at,
            "queued_at": queued_at,
            "confirmed_at": queued_at if confirmed else None,
            "cancelled_at": queued_at + timedelta(days=1) if status == "cancelled" else None,
            "hold_expires_at": hold_expires_at if status == "awaiting_payment" else None,
            "offer_expires_at": None,
            "checked_in_at": checked_in_at if checked_in else None,
            "reminder_sent_at": event.starts_at - timedelta(hours=24) if attended else None,
            "updated_at": queued_at,
        }


# --- writing (inside the application) ------------------------------------------------------------


def _categories() -> list[int]:
    from sqlalchemy import insert, select

    from community.core.db import db
    from community.demo import CATEGORIES
    from community.events.models import Category

    ids = list(db.session.scalars(select(Category.id).order_by(Category.id)))
    if ids:
        return ids
    rows = [{"slug": slug, "name_ja": ja, "name_en": en} for slug, ja, en in CATEGORIES]
    db.session.execute(insert(Category.__table__), rows)
    return list(db.session.scalars(select(Category.id).order_by(Category.id)))


def _organiser_id() -> int | None:
    from sqlalchemy import select

    from community.accounts.models import User
    from community.core.db import db
    from community.demo import DEMO_LOGINS

    return db.session.scalar(select(User.id).where(User.email == DEMO_LOGINS["organiser"][0]))


def _in_batches(rows, size: int = BATCH_SIZE):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _generated(prefix: str):
    """The events that `generate` made with this prefix (burst events are not among them)."""
    from sqlalchemy import or_

    from community.events.models import Event

    return or_(*(Event.slug.like(f"{prefix}-{kind}-%") for kind in ("event", "workshop")))


def _count_mismatched_counters(prefix: str) -> tuple[int, int]:
    """Events and ticket types of this dataset whose counter differs from its holding rows."""
    from sqlalchemy import func, select

    from community.core.db import db
    from community.events.models import HOLDING, Event, Registration, TicketType

    def holding_by(column):
        return (
            select(column.label("owner_id"), func.count().label("held"))
            .where(Registration.status.in_(HOLDING))
            .group_by(column)
            .subquery()
        )

    by_event = holding_by(Registration.event_id)
    events = db.session.scalar(
        select(func.count())
        .select_from(Event)
        .outerjoin(by_event, by_event.c.owner_id == Event.id)
        .where(_generated(prefix), Event.places_taken != func.coalesce(by_event.c.held, 0))
    )
    by_ticket = holding_by(Registration.ticket_type_id)
    tickets = db.session.scalar(
        select(func.count())
        .select_from(TicketType)
        .join(Event, Event.id == TicketType.event_id)
        .outerjoin(by_ticket, by_ticket.c.owner_id == TicketType.id)
        .where(_generated(prefix), TicketType.taken != func.coalesce(by_ticket.c.held, 0))
    )
    return events, tickets


def generate(event_count: int, registration_count: int, prefix: str, seed: int) -> dict:
    from sqlalchemy import func, insert, select

    from community.core.db import db, utcnow
    from community.events.models import Event, Registration, TicketType, event_organisers

    clock = time.perf_counter()
    rng = random.Random(seed)
    now = utcnow()
    taken_slug = db.session.scalar(select(Event.slug).where(_generated(prefix)))
    if taken_slug:
        raise BenchError(f"events named {prefix}-… exist already ({taken_slug}); pick --prefix")
    events = plan(event_count, registration_count, _categories(), prefix, now, rng)
    detail = choose_detail_event(events, now)

    db.session.execute(insert(Event.__table__), [_event_row(event, now) for event in events])
    event_ids = dict(
        db.session.execute(select(Event.slug, Event.id).where(_generated(prefix))).all()
    )
    organiser_id = _organiser_id()
    if organiser_id is not None:
        db.session.execute(
            insert(event_organisers),
            [{"event_id": event_ids[e.slug], "user_id": organiser_id} for e in events],
        )
    ticket_rows = [row for e in events for row in _ticket_rows(e, event_ids[e.slug])]
    for batch in _in_batches(ticket_rows):
        db.session.execute(insert(TicketType.__table__), batch)
    ticket_ids = {
        (event_id, slug): ticket_id
        for ticket_id, event_id, slug in db.session.execute(
            select(TicketType.id, TicketType.event_id, TicketType.slug).where(
                TicketType.event_id.in_(select(Event.id).where(_generated(prefix)))
            )
        )
    }
    people = max(30_000, *(len(e.registrations) for e in events))

    def all_registrations():
        for event in events:
            event_id = event_ids[event.slug]
            ids = (ticket_ids[event_id, "general"], ticket_ids[event_id, "supporter"])
            prices = (0, event.price_minor)
            yield from _registration_rows(event, event_id, ids, prices, people, now, rng)

    for batch in _in_batches(all_registrations()):
        db.session.execute(insert(Registration.__table__), batch)

    wrong_events, wrong_tickets = _count_mismatched_counters(prefix)
    if wrong_events or wrong_tickets:
        db.session.rollback()
        raise BenchError(
            f"counters differ from the rows: {wrong_events} events, {wrong_tickets} ticket types"
        )
    statuses = dict(
        db.session.execute(
            select(Registration.status, func.count())
            .join(Event, Event.id == Registration.event_id)
            .where(_generated(prefix))
            .group_by(Registration.status)
        ).all()
    )
    db.session.commit()
    _refresh_statistics()
    return {
        "events": len(events),
        "upcoming_events": sum(1 for e in events if e.starts_at > now),
        "ticket_types": len(ticket_rows),
        "registrations": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "detail_slug": detail.slug,
        "seconds": round(time.perf_counter() - clock, 2),
    }


def _refresh_statistics() -> None:
    """What autovacuum would do within its first minutes after a bulk load (VACUUM ANALYZE),
    done before the benchmark instead of during it: without the statistics PostgreSQL plans
    the lists for the few rows it saw before the load, reading and sorting every upcoming event
    instead of walking the lists' index; and autovacuum's work on the new rows would share the
    cores with the routes being measured. SQLite plans without statistics."""
    from community.core.db import db
    from community.events.models import Event, Registration, TicketType

    if db.session.get_bind().dialect.name != "postgresql":
        return
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in (Event.__table__, TicketType.__table__, Registration.__table__):
            connection.exec_driver_sql(f"VACUUM ANALYZE {table.name}")


def create_burst_event(places: int, prefix: str) -> dict:
    """An empty published event with `places` places and one free ticket type of that quota."""
    from sqlalchemy import select

    from community.core.db import db, utcnow
    from community.events.models import Category, Event, TicketType

    now = utcnow()
    starts_at = now.replace(microsecond=0) + timedelta(days=60)
    event = Event(
        slug=f"{prefix}-burst-{secrets.token_hex(4)}",
        kind="event",
        status="published",
        title_ja="登録ラッシュ",
        title_en="Registration rush",
        summary_ja="ベンチマーク用のイベント。",
        summary_en="An event for the registration burst.",
        description_ja="",
        description_en="",
        category_id=db.session.scalar(select(Category.id).order_by(Category.id)),
        format="online",
        online_url="https://meet.example.org/rush",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        timezone="Asia/Tokyo",
        language="ja_en",
        capacity=places,
        places_taken=0,
        created_at=now,
        updated_at=now,
    )
    event.ticket_types.append(
        TicketType(
            slug="general",
            name_ja="一般",
            name_en="General",
            price_minor=0,
            currency="JPY",
            quota=places,
            taken=0,
            position=0,
        )
    )
    db.session.add(event)
    db.session.commit()
    return {"slug": event.slug, "ticket_type": "general", "places": places}


def count_registrations(slug: str) -> dict:
    """What the database holds for one event: statuses, counters, and whether the first in the
    queue got the places."""
    from sqlalchemy import func, select

    from community.core.db import db
    from community.events.models import HOLDING, Event, Registration, TicketType

    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        raise BenchError(f"no event {slug} in the database")
    statuses = dict(
        db.session.execute(
            select(Registration.status, func.count())
            .where(Registration.event_id == event.id)
            .group_by(Registration.status)
        ).all()
    )
    tickets = db.session.execute(
        select(TicketType.slug, TicketType.quota, TicketType.taken)
        .where(TicketType.event_id == event.id)
        .order_by(TicketType.position, TicketType.id)
    ).all()
    queue = db.session.scalars(
        select(Registration.status)
        .where(Registration.event_id == event.id, Registration.status != "cancelled")
        .order_by(Registration.queued_at, Registration.id)
    ).all()
    holding = sum(n for status, n in statuses.items() if status in HOLDING)
    return {
        "slug": slug,
        "capacity": event.capacity,
        "places_taken": event.places_taken,
        "tickets": [{"slug": s, "quota": q, "taken": t} for s, q, t in tickets],
        "statuses": dict(sorted(statuses.items())),
        "holding_rows": holding,
        "first_in_queue_hold": all(status in HOLDING for status in queue[:holding]),
    }


# --- running it ----------------------------------------------------------------------------------


def run_module(module: str, app_env: dict[str, str], arguments: list[str], timeout: float) -> dict:
    """Run a bench module as a subprocess against the benchmark database; returns its JSON line."""
    from bench.database import PROJECT_ROOT

    command = [sys.executable, "-m", module, *arguments]
    try:
        completed = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=app_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"`{module} {' '.join(arguments)}` took over {timeout}s") from error
    results = [
        line.removeprefix(RESULT_PREFIX)
        for line in completed.stdout.splitlines()
        if line.startswith(RESULT_PREFIX)
    ]
    if completed.returncode != 0 or not results:
        output = (completed.stdout + completed.stderr).strip()[-3000:]
        raise BenchError(
            f"`{module} {' '.join(arguments)}` failed ({completed.returncode}):\n{output}"
        )
    return json.loads(results[-1])


def run_dataset(app_env: dict[str, str], arguments: list[str], timeout: float) -> dict:
    return run_module("bench.dataset", app_env, arguments, timeout)


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dataset",
        description="Fill the database named by DATABASE_URL with benchmark data.",
    )
    parser.add_argument("--events", type=int, default=1000, help="published events (1000)")
    parser.add_argument(
        "--registrations", type=int, default=100_000, help="registrations spread over them"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed (2026)")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="slug prefix (bench)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--burst-event", type=int, metavar="PLACES", help="create an empty event instead"
    )
    mode.add_argument("--count", metavar="SLUG", help="report one event's registrations instead")
    arguments = parser.parse_args(argv)
    if arguments.events < 1 or arguments.registrations < 0:
        parser.error("--events must be at least 1 and --registrations at least 0")
    if arguments.burst_event is not None and arguments.burst_event < 1:
        parser.error("--burst-event needs at least one place")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    from community import create_app

    app = create_app()
    try:
        with app.app_context():
            if arguments.count:
                result = count_registrations(arguments.count)
            elif arguments.burst_event is not None:
                result = create_burst_event(arguments.burst_event, arguments.prefix)
            else:
                result = generate(
                    arguments.events, arguments.registrations, arguments.prefix, arguments.seed
                )
                print(
                    f"Generated {result['events']} events and {result['registrations']} "
                    f"registrations in {result['seconds']:.1f}s"
                )
    except BenchError as error:
        print(f"bench.dataset failed: {error}", file=sys.stderr)
        return 1
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
