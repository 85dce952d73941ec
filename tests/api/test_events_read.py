"""Reading events through the JSON API: fields and their formats, languages, filters, pages, and
JSON errors for everything that goes wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event

from community.core.db import db, utcnow
from community.events import services
from community.events.models import Category
from community.events.services import QuestionData, TicketTypeData


def _tokyo_evening(days: int = 30) -> datetime:
    """19:00 in Tokyo (10:00 UTC), `days` from now."""
    day = (utcnow() + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def test_event_list_gives_every_field_with_tokyo_offset_and_absolute_urls(client, make_event):
    starts = _tokyo_evening()
    make_event(
        slug="mentoring-night",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        capacity=30,
        tickets=[
            TicketTypeData(slug="general", name_ja="一般", name_en="General", quota=20),
            TicketTypeData(
                slug="supporter", name_en="Supporter", price_minor=3000, members_only=True
            ),
        ],
    )
    response = client.get("/api/v1/events")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert (body["page"], body["per_page"], body["next"]) == (1, 20, None)
    [event] = body["events"]
    assert event == {
        "slug": "mentoring-night",
        "title": event["title"],
        "summary": "A test event",
        "kind": "event",
        "category": None,
        "format": "in_person",
        "language": "ja",
        "starts_at": f"{starts.date().isoformat()}T19:00:00+09:00",
        "ends_at": f"{starts.date().isoformat()}T21:00:00+09:00",
        "timezone": "Asia/Tokyo",
        "capacity": 30,
        "places_left": 30,
        "status": "published",
        "url": "http://localhost/events/mentoring-night",
        "ics_url": "http://localhost/events/mentoring-night.ics",
        "ticket_types": [
            {
                "slug": "general",
                "name": "General",
                "price_minor": 0,
                "currency": "JPY",
                "members_only": False,
                "places_left": 20,
            },
            {
                "slug": "supporter",
                "name": "Supporter",
                "price_minor": 3000,
                "currency": "JPY",
                "members_only": True,
                "places_left": 30,
            },
        ],
    }
    assert event["title"].startswith("Event ")


def test_times_are_given_in_the_events_own_time_zone(client, make_event):
    starts = _tokyo_evening()
    make_event(starts_at=starts, ends_at=starts + timedelta(hours=1), timezone="Europe/London")
    event = client.get("/api/v1/events").get_json()["events"][0]
    parsed = datetime.fromisoformat(event["starts_at"])
    assert parsed == starts
    assert event["timezone"] == "Europe/London"
    assert event["starts_at"].endswith(("+00:00", "+01:00"))


def test_lang_ja_gives_japanese_texts_and_falls_back_to_english(client, make_event):
    make_event(summary_ja="")
    event = client.get("/api/v1/events?lang=ja").get_json()["events"][0]
    assert event["title"].startswith("イベント")
    assert event["summary"] == "A test event"
    assert event["ticket_types"][0]["name"] == "一般"


def test_default_language_is_english_whatever_the_browser_says(client, make_event):
    make_event()
    response = client.get("/api/v1/events", headers={"Accept-Language": "ja"})
    assert response.get_json()["events"][0]["title"].startswith("Event ")


def test_drafts_and_past_events_are_not_listed_but_cancelled_ones_are(client, make_event):
    make_event(slug="draft-one", publish=False)
    make_event(slug="past-one", days=-3)
    cancelled = make_event(slug="cancelled-one")
    services.cancel_event(cancelled)
    make_event(slug="open-one")
    events = client.get("/api/v1/events").get_json()["events"]
    assert {e["slug"]: e["status"] for e in events} == {
        "cancelled-one": "cancelled",
        "open-one": "published",
    }


def test_places_left_counts_registrations(client, make_event):
    event = make_event(capacity=2)
    services.register_for_event(event.slug, name="A", email="a@example.com", language="en")
    listed = client.get("/api/v1/events").get_json()["events"][0]
    assert listed["places_left"] == 1
    assert listed["ticket_types"][0]["places_left"] == 1


def test_filters_by_kind_format_language_and_category(client, make_event):
    db.session.add(Category(slug="career", name_ja="キャリア", name_en="Career"))
    db.session.commit()
    make_event(slug="talk", category_slug="career", language="en")
    make_event(slug="workshop", kind="workshop", format="online", online_url="https://x.example")
    make_event(slug="bilingual", language="ja_en")

    def slugs(query: str) -> set[str]:
        response = client.get(f"/api/v1/events?{query}")
        assert response.status_code == 200, response.get_json()
        return {event["slug"] for event in response.get_json()["events"]}

    assert slugs("kind=workshop") == {"workshop"}
    assert slugs("format=online") == {"workshop"}
    assert slugs("language=en") == {"talk", "bilingual"}
    assert slugs("category=career") == {"talk"}
    assert slugs("category=unknown") == set()
    assert slugs("kind=&format=") == {"talk", "workshop", "bilingual"}
    categories = {
        e["slug"]: e["category"] for e in client.get("/api/v1/events").get_json()["events"]
    }
    assert categories == {"talk": "career", "workshop": None, "bilingual": None}


def test_from_and_to_take_dates_in_tokyo_and_datetimes_with_offsets(client, make_event):
    first = _tokyo_evening(days=20)
    make_event(slug="first", starts_at=first, ends_at=first + timedelta(hours=2))
    second = first + timedelta(days=1)
    make_event(slug="second", starts_at=second, ends_at=second + timedelta(hours=2))
    first_day = first.date().isoformat()
    second_day = second.date().isoformat()

    def slugs(query: str) -> list[str]:
        response = client.get(f"/api/v1/events?{query}")
        assert response.status_code == 200, response.get_json()
        return [event["slug"] for event in response.get_json()["events"]]

    assert slugs(f"from={second_day}") == ["second"]
    assert slugs(f"to={first_day}") == ["first"]  # the whole day is included
    assert slugs(f"from={first_day}&to={first_day}") == ["first"]
    assert slugs(f"from={second_day}T19:00:00%2B09:00") == ["second"]
    assert slugs(f"from={second_day}T19:00:01%2B09:00") == []
    assert slugs(f"to={second_day}T10:00:00Z") == ["first"]
    assert slugs(f"from={second_day}T19:00") == ["second"]  # no offset: Tokyo time


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=tomorrow", "from"),
        ("to=2026-13-01", "to"),
        ("kind=party", "kind"),
        ("kind=%20event", "kind"),
        ("lang=en%20", "lang"),
        ("category=career%0A", "category"),
        ("format=paper", "format"),
        ("language=fr", "language"),
        ("category=%01", "category"),
        ("lang=fr", "lang"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=99999999999999999999", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=1.5", "per_page"),
    ],
)
def test_bad_list_parameters_get_422_naming_the_parameter(client, app, query, field):
    response = client.get(f"/api/v1/events?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert error["fields"][field]


def test_several_bad_parameters_are_all_named_at_once(client, app):
    error = client.get("/api/v1/events?kind=x&per_page=500&from=x").get_json()["error"]
    assert set(error["fields"]) == {"kind", "per_page", "from"}


def test_error_messages_follow_lang(client, app):
    error = client.get("/api/v1/events?lang=ja&per_page=500").get_json()["error"]
    english = client.get("/api/v1/events?lang=en&per_page=500").get_json()["error"]
    assert english["fields"]["per_page"] == "Give a whole number from 1 to 100."
    # Until the catalog has the message, Japanese falls back to the English text; either way
    # the API answers with a message, never an empty one.
    assert error["fields"]["per_page"]


def test_pages_follow_each_other_with_absolute_next_links(client, make_event):
    for number in range(5):
        make_event(slug=f"e{number}", days=10 + number)
    first = client.get("/api/v1/events?per_page=2&kind=event&lang=ja").get_json()
    assert [e["slug"] for e in first["events"]] == ["e0", "e1"]
    assert first["next"].startswith("http://localhost/api/v1/events?")
    assert "page=2" in first["next"] and "per_page=2" in first["next"]
    assert "kind=event" in first["next"] and "lang=ja" in first["next"]

    second = client.get(first["next"].removeprefix("http://localhost")).get_json()
    assert (second["page"], [e["slug"] for e in second["events"]]) == (2, ["e2", "e3"])
    third = client.get(second["next"].removeprefix("http://localhost")).get_json()
    assert ([e["slug"] for e in third["events"]], third["next"]) == (["e4"], None)
    beyond = client.get("/api/v1/events?per_page=2&page=9").get_json()
    assert (beyond["events"], beyond["next"]) == ([], None)


def test_per_page_accepts_1_and_100(client, make_event):
    make_event()
    make_event()
    assert len(client.get("/api/v1/events?per_page=1").get_json()["events"]) == 1
    assert client.get("/api/v1/events?per_page=100").get_json()["per_page"] == 100


def _count_queries(app, action) -> int:
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def _add_events(organiser, count: int, start_number: int) -> None:
    """Rows straight into the session: the count matters here, not the services' checks."""
    from community.events.models import Event, TicketType

    category = db.session.scalar(db.select(Category).where(Category.slug == "bulk"))
    if category is None:
        category = Category(slug="bulk", name_ja="一括", name_en="Bulk")
    start = utcnow().replace(microsecond=0) + timedelta(days=5)
    for number in range(start_number, start_number + count):
        event = Event(
            slug=f"bulk-{number}",
            status="published",
            title_en=f"Bulk {number}",
            starts_at=start + timedelta(minutes=number),
            ends_at=start + timedelta(minutes=number, hours=1),
            capacity=10,
            places_taken=0,
            category=category,
            venue_name="Hall",
        )
        event.organisers.append(organiser)
        event.ticket_types = [
            TicketType(slug="a", name_en="A", taken=0, position=0),
            TicketType(slug="b", name_en="B", taken=0, position=1, price_minor=1000),
        ]
        db.session.add(event)
    db.session.commit()


def test_event_list_runs_the_same_number_of_queries_for_10_and_200_events(client, app, organiser):
    _add_events(organiser, 10, 0)
    few = _count_queries(app, lambda: client.get("/api/v1/events?per_page=100"))
    _add_events(organiser, 190, 10)
    response_holder = []
    many = _count_queries(
        app, lambda: response_holder.append(client.get("/api/v1/events?per_page=100"))
    )
    assert len(response_holder[0].get_json()["events"]) == 100
    assert many == few  # each event's entry made: the stamps, the events and their tickets
    again = _count_queries(app, lambda: client.get("/api/v1/events?per_page=100"))
    # Every entry known: the page's stamps, its tickets' counters and the events' version.
    assert again <= 4 < few


def test_one_event_gives_the_list_fields_and_its_questions(client, make_event):
    make_event(
        slug="with-questions",
        questions=[
            QuestionData(kind="short_text", label_ja="会社", label_en="Company", required=True),
            QuestionData(
                kind="single_choice",
                label_en="Food",
                options=[
                    {"value": "veg", "ja": "ベジタリアン", "en": "Vegetarian"},
                    {"value": "any", "ja": "なんでも", "en": "Anything"},
                ],
            ),
        ],
    )
    listed = client.get("/api/v1/events").get_json()["events"][0]
    detail = client.get("/api/v1/events/with-questions?lang=ja").get_json()
    assert set(detail) == set(listed) | {"questions"}
    company, food = detail["questions"]
    assert (company["kind"], company["label"], company["required"]) == ("short_text", "会社", True)
    assert food["options"] == [
        {"value": "veg", "label": "ベジタリアン"},
        {"value": "any", "label": "なんでも"},
    ]
    assert isinstance(company["id"], int)


@pytest.mark.parametrize("slug", ["no-such-event", "draft-event", "Bad_Slug", "x" * 100])
def test_unknown_draft_or_malformed_slug_is_a_json_404(client, make_event, slug):
    make_event(slug="draft-event", publish=False)
    response = client.get(f"/api/v1/events/{slug}")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "not_found"


def test_unknown_api_path_is_a_json_404(client, app):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert "error" in response.get_json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/events"),
        ("PUT", "/api/v1/events/some-event"),
        ("GET", "/api/v1/events/some-event/registrations"),
        ("POST", "/api/v1/events/some-event/attendees"),
    ],
)
def test_wrong_method_is_a_json_405(client, app, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_crash_inside_the_api_is_a_json_500_without_a_stack_trace(client, app, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "list_event_stamps", explode)
    response = client.get("/api/v1/events")
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
