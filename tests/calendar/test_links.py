"""The calendar's link builders (community/calendar/links.py): pure functions, no app needed."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from community.calendar import links

TOKYO = ZoneInfo("Asia/Tokyo")


def _query(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "calendar.google.com",
        "/calendar/render",
    )
    return {name: values[0] for name, values in parse_qs(parts.query, strict_parsing=True).items()}


def _event_url(**overrides) -> str:
    values = {
        "title": "Rust night",
        "starts_at": datetime(2026, 5, 1, 19, 0, tzinfo=TOKYO),
        "ends_at": datetime(2026, 5, 1, 21, 30, tzinfo=TOKYO),
        "details": "Talks and pizza\n\nhttps://community.example/events/rust-night",
        "location": "Shibuya Hall, 1-2-3 Shibuya",
        "timezone": "Asia/Tokyo",
    }
    values.update(overrides)
    return links.google_event_url(**values)


# --- webcal and Google's subscribe link ----------------------------------------------------------


@pytest.mark.parametrize(
    ("feed_url", "expected"),
    [
        ("https://community.example/calendar.ics", "webcal://community.example/calendar.ics"),
        (
            "http://localhost:5000/calendar/career.ics",
            "webcal://localhost:5000/calendar/career.ics",
        ),
        (
            "https://community.example/calendar.ics?lang=en",
            "webcal://community.example/calendar.ics?lang=en",
        ),
    ],
)
def test_webcal_url_replaces_only_the_scheme(feed_url, expected):
    assert links.webcal_url(feed_url) == expected


@pytest.mark.parametrize("feed_url", ["ftp://example.com/a.ics", "/calendar.ics", "javascript:x"])
def test_webcal_url_refuses_anything_but_a_web_address(feed_url):
    with pytest.raises(ValueError):
        links.webcal_url(feed_url)


def test_google_subscribe_link_carries_the_webcal_address_fully_url_encoded():
    url = links.google_subscribe_url("https://community.example/calendar/u/abc_-123.ics?lang=ja")
    assert url == (
        "https://calendar.google.com/calendar/render?cid="
        "webcal%3A%2F%2Fcommunity.example%2Fcalendar%2Fu%2Fabc_-123.ics%3Flang%3Dja"
    )
    assert _query(url) == {"cid": "webcal://community.example/calendar/u/abc_-123.ics?lang=ja"}


# --- Google's "add this event" link --------------------------------------------------------------


def test_google_event_link_has_every_field_in_googles_template_form():
    query = _query(_event_url())
    assert query == {
        "action": "TEMPLATE",
        "text": "Rust night",
        "dates": "20260501T100000Z/20260501T123000Z",
        "details": "Talks and pizza\n\nhttps://community.example/events/rust-night",
        "location": "Shibuya Hall, 1-2-3 Shibuya",
        "ctz": "Asia/Tokyo",
    }


def test_google_event_dates_are_in_utc_even_across_midnight_and_the_year():
    # 08:30 on New Year's Day in Tokyo is still the previous year in UTC.
    url = _event_url(
        starts_at=datetime(2026, 1, 1, 8, 30, tzinfo=TOKYO),
        ends_at=datetime(2026, 1, 1, 10, 0, tzinfo=TOKYO),
    )
    assert "dates=20251231T233000Z/20260101T010000Z&" in url


def test_google_event_dates_accept_utc_datetimes_as_stored():
    url = _event_url(
        starts_at=datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
        ends_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
    )
    assert _query(url)["dates"] == "20260701T100000Z/20260701T120000Z"


def test_google_event_link_encodes_characters_that_would_break_the_query():
    title = "Q&A: C# + Rust = 100% #fun? 東京"
    details = "a=b&c=d\n\nhttps://community.example/events/q-a?x=1#top"
    url = _event_url(title=title, details=details, location="Hall 5 / Online")
    query_string = urlsplit(url).query
    # Only the template's own separators stay bare; every value is percent-encoded.
    assert query_string.count("&") == 5
    assert "#" not in url
    assert "+" not in query_string
    assert " " not in url
    assert "text=Q%26A%3A%20C%23%20%2B%20Rust%20%3D%20100%25%20%23fun%3F%20" in url
    query = _query(url)
    assert (query["text"], query["details"], query["location"]) == (
        title,
        details,
        "Hall 5 / Online",
    )


def test_google_event_link_leaves_out_empty_fields():
    query = _query(_event_url(details="", location=""))
    assert "details" not in query
    assert "location" not in query


def test_google_event_link_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        _event_url(starts_at=datetime(2026, 5, 1, 19, 0))


# --- location and details ------------------------------------------------------------------------


def _event(format: str, venue_name: str = "Shibuya Hall", venue_address: str = "1-2-3 Shibuya"):
    return SimpleNamespace(format=format, venue_name=venue_name, venue_address=venue_address)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_event("in_person"), "Shibuya Hall, 1-2-3 Shibuya"),
        (_event("in_person", venue_address=""), "Shibuya Hall"),
        (_event("online"), "Online"),
        (_event("hybrid"), "Shibuya Hall, 1-2-3 Shibuya / Online"),
        (_event("hybrid", venue_name="", venue_address=""), "Online"),
    ],
)
def test_event_location_is_the_venue_or_online(event, expected):
    assert links.event_location(event, online="Online") == expected


def test_event_details_are_the_summary_then_the_event_page():
    assert links.event_details(" Talks ", "https://x.example/events/a") == (
        "Talks\n\nhttps://x.example/events/a"
    )
    assert links.event_details("", "https://x.example/events/a") == "https://x.example/events/a"
