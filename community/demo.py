"""Demo data for `make run`: an organiser, an admin, a member, events in both languages,
sponsorship's tiers and partners (sponsorship/demo.py), membership's plans, the member holding
the free one (membership/demo.py), and donations' campaigns and gifts (donations/demo.py).

Idempotent: every row is looked up by its natural key first, so a second run changes nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from community.accounts.models import User
from community.core.db import db, utcnow
from community.donations import demo as donations_demo
from community.events.models import Category, Event, Question, Registration, TicketType
from community.membership import demo as membership_demo
from community.sponsorship import demo as sponsorship_demo

TOKYO = ZoneInfo("Asia/Tokyo")

DEMO_LOGINS = {
    "organiser": ("organiser@example.org", "demo-organiser-2026"),
    "admin": ("admin@example.org", "demo-admin-2026"),
    "member": ("member@example.org", "demo-member-2026"),
    # The contact of a partner company (sponsorship/demo.py; the other partners' share it).
    "partner": ("partner-cloud@example.org", "demo-partner-2026"),
}

CATEGORIES = [
    ("career", "キャリア", "Career"),
    ("engineering", "エンジニアリング", "Engineering"),
    ("data", "データ", "Data"),
]


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    day = utcnow().astimezone(TOKYO).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOKYO)


def _events() -> list[dict]:
    return [
        {
            "slug": "mentoring-night-tokyo",
            "kind": "event",
            "category": "career",
            "title_ja": "メンタリング・ナイト東京",
            "title_en": "Mentoring Night Tokyo",
            "summary_ja": "メンターとスポンサーに出会う夜。",
            "summary_en": "An evening to meet mentors and sponsors.",
            "description_ja": "## プログラム\n\n- ライトニングトーク\n- 少人数での対話\n\n"
            "軽食をご用意します。",
            "description_en": "## Programme\n\n- Lightning talks\n- Small-group conversations\n\n"
            "Light food provided.",
            "format": "in_person",
            "venue_name": "渋谷コミュニティホール",
            "venue_address": "東京都渋谷区渋谷2-1-1",
            "latitude": 35.658,
            "longitude": 139.7016,
            "starts_at": _at(8, 19),
            "ends_at": _at(8, 21),
            "language": "ja_en",
            "capacity": 3,
            "tickets": [("general", "一般", "General", 0, None)],
            # Full, with people waiting: the demo of the waiting list.
            "attendees": [
                ("佐藤 結衣", "yui@example.com", "confirmed"),
                ("Liam Chen", "liam@example.com", "confirmed"),
                ("伊藤 芽衣", "mei@example.com", "confirmed"),
                ("Noah Park", "noah@example.com", "waitlisted"),
                ("加藤 沙羅", "sara@example.com", "waitlisted"),
            ],
        },
        {
            "slug": "intro-to-sql-workshop",
            "kind": "workshop",
            "category": "data",
            "title_ja": "はじめてのSQLワークショップ",
            "title_en": "Introduction to SQL workshop",
            "summary_ja": "ノートPCを持って、SQLの基本を手を動かして学びます。",
            "summary_en": "Bring a laptop and learn the basics of SQL hands-on.",
            "description_ja": "SELECT、JOIN、GROUP BYを扱います。",
            "description_en": "We cover SELECT, JOIN and GROUP BY.",
            "format": "hybrid",
            "venue_name": "Roppongi Tech Lab",
            "venue_address": "東京都港区六本木6-10-1",
            "latitude": 35.6628,
            "longitude": 139.7314,
            "online_url": "https://meet.example.org/sql-workshop",
            "starts_at": _at(15, 14),
            "ends_at": _at(15, 17),
            "language": "en",
            "capacity": 20,
            # A paid workshop: ¥3,000, ¥2,000 for members, with a few student places.
            "tickets": [
                ("standard", "一般", "Standard", 3000, None, 2000),
                ("student", "学生", "Student", 1000, 5),
            ],
            "questions": [
                (
                    "single_choice",
                    "お使いのノートPCのOSは？",
                    "Which OS is on your laptop?",
                    True,
                    [
                        {"value": "mac", "ja": "macOS", "en": "macOS"},
                        {"value": "windows", "ja": "Windows", "en": "Windows"},
                        {"value": "linux", "ja": "Linux", "en": "Linux"},
                    ],
                ),
                (
                    "short_text",
                    "このワークショップで学びたいことは？",
                    "What do you hope to learn?",
                    False,
                    [],
                ),
            ],
        },
        {
            "slug": "career-talk-online",
            "kind": "event",
            "category": "career",
            "title_ja": "オンライン・キャリアトーク",
            "title_en": "Career talk (online)",
            "summary_ja": "エンジニアリングマネージャーへの道。",
            "summary_en": "The road to engineering manager.",
            "description_ja": "質疑応答の時間もあります。",
            "description_en": "With time for questions.",
            "format": "online",
            "online_url": "https://meet.example.org/career-talk",
            "starts_at": _at(22, 12),
            "ends_at": _at(22, 13),
            "language": "ja",
            "capacity": 200,
            "tickets": [("general", "一般", "General", 0, None)],
        },
        {
            "slug": "testing-workshop-autumn",
            "kind": "workshop",
            "category": "engineering",
            "title_ja": "テスト駆動開発ワークショップ（秋）",
            "title_en": "Test-driven development workshop (autumn)",
            "summary_ja": "先月開催したワークショップです。",
            "summary_en": "The workshop we ran last month.",
            "description_ja": "資料は後日公開します。",
            "description_en": "Materials will be published later.",
            "format": "in_person",
            "venue_name": "Shibuya Scramble Square 15F",
            "venue_address": "東京都渋谷区渋谷2-24-12",
            "latitude": 35.6585,
            "longitude": 139.7023,
            "starts_at": _at(-30, 10),
            "ends_at": _at(-30, 16),
            "language": "ja",
            "capacity": 24,
            "tickets": [("general", "一般", "General", 0, None)],
        },
    ]


def _user(email: str, password: str, name: str, role: str, locale: str) -> tuple[User, bool]:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, False
    user = User(
        email=email,
        name=name,
        password_hash=generate_password_hash(password),
        role=role,
        locale=locale,
        email_confirmed_at=utcnow(),
    )
    db.session.add(user)
    return user, True


def _add_attendees(event: Event, people: list[tuple[str, str, str]]) -> None:
    """Registrations written directly (no e-mails), with the counters kept exact."""
    ticket = event.ticket_types[0]
    for offset, (name, email, status) in enumerate(people):
        moment = utcnow() - timedelta(days=3, minutes=-offset)
        registration = Registration(
            event=event,
            ticket_type=ticket,
            name=name,
            email=email,
            locale="ja",
            status=status,
            price_minor=ticket.price_minor,
            currency=ticket.currency,
            ticket_code=secrets.token_urlsafe(12),
            manage_nonce=secrets.token_hex(8),
            created_at=moment,
            queued_at=moment,
            confirmed_at=moment if status == "confirmed" else None,
        )
        db.session.add(registration)
        if registration.holds_place:
            ticket.taken += 1
            event.places_taken += 1


def seed_demo() -> bool:
    """Load the demo rows that are missing; True if anything was created."""
    created = False
    organiser, new = _user(*DEMO_LOGINS["organiser"], "田中 愛子", "organiser", "ja")
    created |= new
    _, new = _user(*DEMO_LOGINS["admin"], "Sam Admin", "admin", "en")
    created |= new
    demo_member, new = _user(*DEMO_LOGINS["member"], "鈴木 健", "member", "ja")
    created |= new

    categories = {}
    for slug, name_ja, name_en in CATEGORIES:
        category = db.session.scalar(select(Category).where(Category.slug == slug))
        if category is None:
            category = Category(slug=slug, name_ja=name_ja, name_en=name_en)
            db.session.add(category)
            created = True
        categories[slug] = category

    for values in _events():
        if db.session.scalar(select(Event.id).where(Event.slug == values["slug"])):
            continue
        values = dict(values)
        category = categories[values.pop("category")]
        tickets = values.pop("tickets")
        questions = values.pop("questions", [])
        people = values.pop("attendees", [])
        event = Event(
            status="published", timezone="Asia/Tokyo", category=category, places_taken=0, **values
        )
        event.organisers.append(organiser)
        for position, (slug, name_ja, name_en, price, quota, *member) in enumerate(tickets):
            event.ticket_types.append(
                TicketType(
                    slug=slug,
                    name_ja=name_ja,
                    name_en=name_en,
                    price_minor=price,
                    currency="JPY",
                    quota=quota,
                    member_price_minor=member[0] if member else None,
                    position=position,
                    taken=0,
                )
            )
        for position, (kind, label_ja, label_en, required, options) in enumerate(questions):
            event.questions.append(
                Question(
                    kind=kind,
                    label_ja=label_ja,
                    label_en=label_en,
                    required=required,
                    options=options,
                    position=position,
                )
            )
        db.session.add(event)
        _add_attendees(event, people)
        created = True

    db.session.commit()

    def partner_contact(email: str, name: str) -> User:
        user, _ = _user(email, DEMO_LOGINS["partner"][1], name, "member", "ja")
        db.session.commit()
        return user

    created |= sponsorship_demo.seed(partner_contact)
    created |= membership_demo.seed(demo_member)
    created |= donations_demo.seed()
    return created
