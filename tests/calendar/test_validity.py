"""Every calendar we serve or send is valid for three independent parsers and our own rules
(see validity.py), holds exactly the events the database says it should, and is the same bytes
each time it is rendered, by this process or a new one."""

from __future__ import annotations

import re

import pytest
from ical.exceptions import CalendarError
from vobject.base import VObjectError

from tests.calendar.conftest import (
    TRICKY_SUMMARY_JA,
    TRICKY_TITLE_JA,
    at,
    private_count,
    private_path,
    public_count,
    vevents,
)
from tests.calendar.validity import BOM, assert_valid_calendar
from tests.conftest import IsolatedClient

LANGUAGES = ["", "?lang=ja", "?lang=en"]

# (path, how many events it should hold: counted from the tables)
PUBLIC_FEEDS = {
    "all": ("/calendar.ics", lambda: public_count()),
    "events": ("/calendar/events.ics", lambda: public_count(kind="event")),
    "workshops": ("/calendar/workshops.ics", lambda: public_count(kind="workshop")),
    "category-career": ("/calendar/career.ics", lambda: public_count(category="career")),
    "category-ml": ("/calendar/ml.ics", lambda: public_count(category="ml")),
    "event-tokyo": ("/events/tokyo-study-night.ics", lambda: 1),
    "event-london": ("/events/london-night.ics", lambda: 1),
    "event-new-york": ("/events/new-york-online.ics", lambda: 1),
    "event-cancelled": ("/events/cancelled-meetup.ics", lambda: 1),
}


def test_the_world_has_what_the_feeds_must_tell_apart(world):
    # The counts below would prove little if every event were in every feed.
    assert public_count() == 7  # not the draft, not the event 40 days ago
    assert public_count(kind="workshop") == 3
    assert public_count(category="career") == 3
    assert private_count(world.person) == 6


def _check_in_every_language(client, path: str, expected: int) -> None:
    for query in LANGUAGES:
        response = client.get(path + query)
        assert response.status_code == 200, path + query
        try:
            assert_valid_calendar(response.data, expected_events=expected, method="PUBLISH")
        except AssertionError as error:
            raise AssertionError(f"{path + query}: {error}") from error


@pytest.mark.parametrize("feed", PUBLIC_FEEDS, ids=list(PUBLIC_FEEDS))
def test_public_feed_is_valid_and_holds_the_events_of_the_database(client, world, feed):
    path, expected = PUBLIC_FEEDS[feed]
    _check_in_every_language(client, path, expected())


def test_private_feed_is_valid_and_holds_the_persons_registrations(client, world):
    _check_in_every_language(client, private_path(world.person), private_count(world.person))


@pytest.mark.parametrize(
    "path", ["/calendar.ics", "/calendar/workshops.ics", "/events/london-night.ics", "private"]
)
def test_rendering_twice_gives_the_same_bytes_in_this_process_and_a_new_one(
    client, world, make_app, path
):
    path = private_path(world.person) if path == "private" else path
    first = client.get(path)
    again = client.get(path)
    assert again.data == first.data
    fresh = make_app()
    fresh.test_client_class = IsolatedClient
    rebuilt = fresh.test_client().get(path)
    assert rebuilt.status_code == 200
    assert rebuilt.data == first.data
    assert rebuilt.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_confirmation_email_carries_valid_invitations(
    client, make_event, register, mailbox, language
):
    event = make_event(
        title_ja=TRICKY_TITLE_JA,
        title_en="Invitation, test; one",
        summary_ja=TRICKY_SUMMARY_JA,
        timezone="Europe/London",
    )
    [feed_event] = vevents(client.get(f"/events/{event.slug}.ics").data).values()
    register(event, 1, language=language)
    message = mailbox.last_to("guest1@example.com")
    calendars = [
        part
        for part in message.walk()
        if part.get_content_type() in ("text/calendar", "application/ics")
    ]
    inline = [part for part in calendars if part.get_content_type() == "text/calendar"]
    assert inline, "the confirmation e-mail has no text/calendar part"
    for part in calendars:
        if part.get_content_type() == "text/calendar":
            assert part.get_param("method") == "REQUEST"
        parsed = assert_valid_calendar(
            part.get_payload(decode=True), expected_events=1, method="REQUEST"
        )
        [component] = parsed.icalendar.walk("VEVENT")
        assert component["UID"] == feed_event["UID"]
        assert component["SEQUENCE"] == feed_event["SEQUENCE"]
        assert component["DTSTART"].dt == event.starts_at


# --- the checker itself: a check that never fails proves nothing ---------------------------------


def _without_line(prefix: bytes):
    return lambda body: re.sub(rb"(?m)^" + re.escape(prefix) + rb"[^\r]*\r\n", b"", body, count=1)


def _vevent_twice(body: bytes) -> bytes:
    start, end = body.index(b"BEGIN:VEVENT"), body.index(b"END:VEVENT\r\n") + 12
    return body[:end] + body[start:end] + body[end:]


def _split_character(body: bytes) -> bytes:
    first = "ロ".encode()
    return body.replace(b"SUMMARY:" + first, b"SUMMARY:" + first[:2] + b"\r\n " + first[2:], 1)


BREAKAGES = {
    "byte order mark": lambda body: BOM + body,
    "bare LF": lambda body: body.replace(b"\r\n", b"\n"),
    "line over 75 octets": lambda body: body.replace(b"\r\n ", b"", 1),
    "fold inside a character": _split_character,
    "repeated UID": _vevent_twice,
    "DTEND before DTSTART": lambda body: body.replace(b"T033000\r\n", b"T000000\r\n", 1),
    "TZID without VTIMEZONE": lambda body: re.sub(
        rb"BEGIN:VTIMEZONE.*?END:VTIMEZONE\r\n", b"", body, flags=re.S
    ),
    "floating DTSTART": lambda body: body.replace(b"DTSTART;TZID=Europe/London:", b"DTSTART:"),
    "DTSTAMP not in UTC": lambda body: re.sub(rb"(DTSTAMP:\d{8}T\d{6})Z", rb"\1", body),
    "no UID": _without_line(b"UID:"),
    "no DTSTAMP": _without_line(b"DTSTAMP:"),
    "no PRODID": _without_line(b"PRODID:"),
    "no VERSION": _without_line(b"VERSION:"),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_the_checker_refuses_a_broken_calendar(client, make_event, clock, breakage):
    event = make_event(
        slug="london",
        title_ja="ロンドン",
        summary_en="A summary long enough to be folded over two lines or more, in English.",
        starts_at=at(2027, 3, 28, 0, 30),
        ends_at=at(2027, 3, 28, 2, 30),
        timezone="Europe/London",
    )
    body = client.get(f"/events/{event.slug}.ics").data
    assert_valid_calendar(body, expected_events=1, method="PUBLISH")
    broken = BREAKAGES[breakage](body)
    assert broken != body, "the breakage changed nothing"
    with pytest.raises((AssertionError, ValueError, VObjectError, CalendarError)):
        assert_valid_calendar(broken)


def test_the_checker_refuses_the_wrong_method_or_count(client, make_event):
    body = client.get(f"/events/{make_event().slug}.ics").data
    with pytest.raises(AssertionError):
        assert_valid_calendar(body, method="REQUEST")
    with pytest.raises(AssertionError):
        assert_valid_calendar(body, expected_events=2)
