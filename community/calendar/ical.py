"""Building iCalendar data from events: pure functions, no I/O, no request.

Every event has one UID for its whole life; times carry the event's TZID with a VTIMEZONE;
SEQUENCE follows the event's `sequence` (bumped when time, place or status change).
"""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar
from icalendar import Event as VEvent

from community.events.models import Event

PRODID = "-//Tokyo Tech Community//community//EN"


def event_uid(event: Event, domain: str) -> str:
    return f"event-{event.id}@{domain}"


def _location(event: Event) -> str:
    if event.format == "online":
        return "Online"
    return ", ".join(part for part in (event.venue_name, event.venue_address) if part)


def event_component(event: Event, *, domain: str, url: str, language: str, stamp: datetime):
    component = VEvent()
    component.add("uid", event_uid(event, domain))
    component.add("dtstamp", stamp)
    component.add("created", event.created_at)
    component.add("last-modified", event.updated_at)
    component.add("sequence", event.sequence)
    other = "en" if language == "ja" else "ja"
    title = getattr(event, f"title_{language}") or getattr(event, f"title_{other}")
    summary = getattr(event, f"summary_{language}") or getattr(event, f"summary_{other}")
    component.add("summary", title)
    component.add("description", f"{summary}\n\n{url}".strip())
    component.add("dtstart", event.starts_at.astimezone(_zone(event.timezone)))
    component.add("dtend", event.ends_at.astimezone(_zone(event.timezone)))
    location = _location(event)
    if location:
        component.add("location", location)
    component.add("url", url)
    component.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    return component


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def single_event_calendar(
    event: Event, *, domain: str, url: str, language: str, stamp: datetime
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(
        event_component(event, domain=domain, url=url, language=language, stamp=stamp)
    )
    calendar.add_missing_timezones()
    return calendar.to_ical()
