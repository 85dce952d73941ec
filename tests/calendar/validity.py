"""Is this iCalendar data valid? Three parsers that share no code (icalendar, which also builds
the feeds; allenporter's pydantic-based `ical`, strict about values; `vobject`, which checks the
required properties) must all read it, and it must keep the rules calendar clients rely on:
UTF-8 without a BOM, CRLF line ends, lines folded at 75 octets without splitting a character,
unique UIDs, every TZID defined by a VTIMEZONE, no floating times and stamps in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import vobject
from ical.calendar import Calendar as IcalCalendar
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from icalendar.parser import Contentline

BOM = b"\xef\xbb\xbf"
MAX_LINE_OCTETS = 75
UTC_DATE_TIME = re.compile(r"^\d{8}T\d{6}Z$")
LOCAL_DATE_TIME = re.compile(r"^\d{8}T\d{6}$")


@dataclass(frozen=True)
class Parsed:
    """The calendar as each parser read it, for tests that look further."""

    icalendar: Calendar
    ical: IcalCalendar
    vobject: vobject.base.Component


def unfolded_lines(body: bytes) -> list[str]:
    """The logical content lines (RFC 5545 3.1), unfolded."""
    text = body.decode("utf-8")
    return [line for line in re.sub(r"\r\n[ \t]", "", text).split("\r\n") if line]


def _check_bytes(body: bytes) -> None:
    assert body, "the calendar is empty"
    assert not body.startswith(BOM), "the calendar starts with a byte order mark"
    body.decode("utf-8")  # raises on anything that is not UTF-8
    assert body.endswith(b"\r\n"), "the last line does not end with CRLF"
    assert b"\n" not in body.replace(b"\r\n", b""), "a line ends with a bare LF"
    assert b"\r" not in body.replace(b"\r\n", b""), "a line ends with a bare CR"
    for number, line in enumerate(body.split(b"\r\n")[:-1], start=1):
        assert len(line) <= MAX_LINE_OCTETS, f"line {number} has {len(line)} octets: {line!r}"
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise AssertionError(f"line {number} splits a UTF-8 character: {line!r}") from error


def _check_lines(lines: list[str]) -> None:
    """What the parsers let through: where TZIDs are used and defined, floating times."""
    stack: list[str] = []
    used: set[str] = set()
    defined: set[str] = set()
    top_level: dict[str, list[str]] = {}
    for line in lines:
        name, params, value = Contentline(line).raw_parts()
        name = name.upper()
        if name == "BEGIN":
            stack.append(value.upper())
            continue
        if name == "END":
            assert stack and stack[-1] == value.upper(), f"END:{value} closes {stack}"
            stack.pop()
            continue
        assert stack, f"a property outside any component: {line}"
        if stack == ["VCALENDAR"]:
            top_level.setdefault(name, []).append(value)
        tzid = params.get("TZID")
        if stack[-1] == "VTIMEZONE" and name == "TZID":
            defined.add(value)
        elif tzid is not None:
            used.add(str(tzid))
        if stack[-1] == "VEVENT" and name in ("DTSTAMP", "CREATED", "LAST-MODIFIED"):
            # RFC 5545 3.8.7: these are always in UTC.
            assert tzid is None and UTC_DATE_TIME.match(value), f"{line}: not in UTC"
        if stack[-1] == "VEVENT" and name in ("DTSTART", "DTEND"):
            if tzid is not None:
                assert LOCAL_DATE_TIME.match(value), f"{line}: a local time with its TZID"
            else:
                assert UTC_DATE_TIME.match(value), f"{line}: floating (neither TZID nor UTC)"
    assert not stack, f"components left open: {stack}"
    assert used <= defined, f"TZIDs without a VTIMEZONE: {sorted(used - defined)}"
    assert top_level.get("VERSION") == ["2.0"], f"VERSION is {top_level.get('VERSION')}"
    assert len(top_level.get("PRODID", [])) == 1, "PRODID is missing or repeated"


def _parse_icalendar(body: bytes) -> Calendar:
    calendar = Calendar.from_ical(body)
    for component in calendar.walk():
        assert not component.errors, f"icalendar: {component.name} {component.errors}"
    return calendar


def _parse_vobject(text: str) -> vobject.base.Component:
    calendar = vobject.readOne(text, validate=True)
    for event in calendar.contents.get("vevent", []):
        for name in ("uid", "dtstamp", "dtstart"):
            assert name in event.contents, f"vobject: a VEVENT without {name.upper()}"
        start = event.dtstart.value
        assert isinstance(start, datetime), f"vobject: DTSTART {start!r} is not a date-time"
        assert start.tzinfo is not None, f"vobject: DTSTART {start!r} is floating"
    return calendar


def assert_valid_calendar(
    body: bytes, *, expected_events: int | None = None, method: str | None = None
) -> Parsed:
    """Fail with the reason unless `body` is a valid calendar by all three parsers and our rules."""
    _check_bytes(body)
    text = body.decode("utf-8")
    lines = unfolded_lines(body)
    _check_lines(lines)

    calendar = _parse_icalendar(body)
    strict = IcsCalendarStream.calendar_from_ics(text)
    loose = _parse_vobject(text)

    events = calendar.walk("VEVENT")
    counts = {
        "icalendar": len(events),
        "ical": len(strict.events),
        "vobject": len(loose.contents.get("vevent", [])),
        "BEGIN:VEVENT lines": lines.count("BEGIN:VEVENT"),
    }
    assert len(set(counts.values())) == 1, f"the parsers disagree on the events: {counts}"
    if expected_events is not None:
        assert len(events) == expected_events, f"{len(events)} events, not {expected_events}"

    uids = [str(event["UID"]) for event in events]
    assert len(uids) == len(set(uids)), f"repeated UIDs: {sorted(uids)}"
    assert sorted(uids) == sorted(event.uid for event in strict.events)
    for event in events:
        for name in ("UID", "DTSTAMP", "DTSTART"):
            assert name in event, f"a VEVENT without {name}: {event.get('UID')}"
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        assert end > start, f"{event['UID']}: DTEND {end} is not after DTSTART {start}"
    for event in strict.events:
        assert event.dtstart.tzinfo is not None, f"ical: {event.uid} starts at a floating time"
        assert event.end > event.start, f"ical: {event.uid} ends before it starts"

    if method is not None:
        assert str(calendar.get("METHOD")) == method, f"METHOD is {calendar.get('METHOD')}"
        assert strict.method == method
    return Parsed(calendar, strict, loose)
