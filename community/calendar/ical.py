"""Building iCalendar data from events: pure functions over the rows they are given; no queries,
no request, no clock (every moment comes in as an argument), so the same data gives the same bytes.

Every event has one UID for its whole life, the same in every feed and e-mail. Times carry the
event's TZID, and each zone used gets a VTIMEZONE. SEQUENCE is the event's `sequence`, which the
events domain bumps when time, place or status change. Words (the cancelled marker, "Online")
come in as `Labels`, one per language, which the views fill through gettext.

A feed is assembled from bytes: its header, one VTIMEZONE per zone, and one VEVENT per event.
Each VEVENT is built once per change of its event and then reused from `ComponentCache`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from cachetools import LRUCache
from icalendar import Calendar, Timezone, vCalAddress, vText
from icalendar import Event as VEvent

from community.calendar.links import event_location
from community.core.cache import SharedCache
from community.core.text import one_line, plain_text
from community.events.models import Event

PRODID = "-//Tokyo Tech Community//community//EN"
# Bumped when the output for unchanged events changes, so that cached components and the feeds'
# recorded fingerprints are not reused across such a release.
FORMAT_VERSION = 1
REFRESH = "PT1H"
END = b"END:VCALENDAR\r\n"


@dataclass(frozen=True)
class Labels:
    """The words a calendar uses, in one language."""

    language: str
    online: str
    cancelled: str  # the event is called off
    registration_cancelled: str  # the event goes on; this person's place was cancelled
    waitlisted: str
    offered: str
    awaiting_payment: str
    online_link: str
    your_registration: str
    kinds: tuple[tuple[str, str], ...]

    def kind(self, kind: str) -> str:
        return dict(self.kinds).get(kind, kind)


@dataclass(frozen=True)
class Site:
    """Where the calendars come from, and in which languages their text is written."""

    domain: str
    organizer_name: str
    organizer_email: str
    labels: tuple[Labels, ...]
    event_url: Callable[[str], str]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(labels.language for labels in self.labels)


@dataclass(frozen=True)
class Personal:
    """What one person's own feed or e-mail adds to an event: their status, links only they see."""

    status: str
    manage_url: str


# A person's statuses that their own feed marks in the title (the words are in Labels).
MARKED_STATUSES = ("waitlisted", "offered", "awaiting_payment")


def event_uid(event: Event, domain: str) -> str:
    return f"event-{event.id}@{domain}"


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _texts(event: Event, name: str, languages: Sequence[str]) -> list[str]:
    """The field in each language asked for (falling back to the other one), without repeats."""
    values: list[str] = []
    for language in languages:
        other = "en" if language == "ja" else "ja"
        # A calendar client may end a line at U+2028 as readily as at a newline: titles and names
        # are one line each; a summary keeps its lines, as plain newlines.
        clean = plain_text if name == "summary" else one_line
        value = clean(getattr(event, f"{name}_{language}") or getattr(event, f"{name}_{other}"))
        if value and value not in values:
            values.append(value)
    return values


def _marker(site: Site, key: str) -> str:
    words = list(dict.fromkeys(getattr(labels, key) for labels in site.labels))
    return "[" + " / ".join(words) + "] "


def _location(event: Event, site: Site, personal: Personal | None) -> str:
    online = " / ".join(dict.fromkeys(labels.online for labels in site.labels))
    if personal is not None and personal.status == "confirmed" and event.format == "online":
        return event.online_url or online
    return event_location(event, online)


def _description(event: Event, site: Site, url: str, personal: Personal | None) -> str:
    parts = _texts(event, "summary", site.languages)
    parts.append(url)
    if personal is not None:
        # Like the manage page: the way in is for people with a confirmed place only.
        if personal.status == "confirmed" and event.online_url and event.is_online:
            label = " / ".join(dict.fromkeys(labels.online_link for labels in site.labels))
            parts.append(f"{label}: {event.online_url}")
        label = " / ".join(dict.fromkeys(labels.your_registration for labels in site.labels))
        parts.append(f"{label}: {personal.manage_url}")
    return "\n\n".join(parts)


def event_component(
    event: Event,
    site: Site,
    *,
    stamp: datetime,
    personal: Personal | None = None,
    cancelled: bool | None = None,
    organizer: bool = True,
) -> VEvent:
    """One event as a VEVENT. `stamp` is its DTSTAMP: the event's own modification time in feeds
    (so that re-rendering gives the same bytes), the sending time in e-mails."""
    is_cancelled = event.status == "cancelled" if cancelled is None else cancelled
    url = site.event_url(event.slug)
    tz = zone(event.timezone)
    component = VEvent()
    component.add("uid", event_uid(event, site.domain))
    component.add("dtstamp", stamp)
    component.add("created", event.created_at)
    component.add("last-modified", event.updated_at)
    component.add("sequence", event.sequence)
    summary = " / ".join(_texts(event, "title", site.languages)) or event.slug
    marker = ""
    if event.status == "cancelled":
        marker = _marker(site, "cancelled")
    elif is_cancelled:
        marker = _marker(site, "registration_cancelled")
    elif personal is not None and personal.status in MARKED_STATUSES:
        marker = _marker(site, personal.status)
    component.add("summary", marker + summary)
    component.add("description", _description(event, site, url, personal))
    component.add("dtstart", event.starts_at.astimezone(tz))
    component.add("dtend", event.ends_at.astimezone(tz))
    location = _location(event, site, personal)
    if location:
        component.add("location", one_line(location))
    if event.latitude is not None and event.longitude is not None:
        component.add("geo", (event.latitude, event.longitude))
    component.add("url", url)
    if organizer and site.organizer_email:
        address = vCalAddress(f"mailto:{site.organizer_email}")
        address.params["cn"] = vText(one_line(site.organizer_name))
        component.add("organizer", address)
    categories = list(dict.fromkeys(labels.kind(event.kind) for labels in site.labels))
    if event.category is not None:
        categories += _texts(event.category, "name", site.languages)
    component.add("categories", list(dict.fromkeys(categories)))
    if is_cancelled:
        status = "CANCELLED"
    elif personal is not None and personal.status in MARKED_STATUSES:
        status = "TENTATIVE"
    else:
        status = "CONFIRMED"
    component.add("status", status)
    component.add("transp", "TRANSPARENT" if is_cancelled else "OPAQUE")
    return component


@lru_cache(maxsize=256)
def timezone_bytes(tzid: str, first_year: int, last_year: int) -> bytes:
    """A VTIMEZONE for the years the feed's events use (the whole history would be large)."""
    component = Timezone.from_tzinfo(
        zone(tzid),
        tzid=tzid,
        first_date=date(first_year, 1, 1),
        last_date=date(last_year + 1, 1, 1),
    )
    return component.to_ical()


def timezones_for(events: Iterable[Event]) -> list[bytes]:
    years: dict[str, tuple[int, int]] = {}
    for event in events:
        tz = zone(event.timezone)
        first = event.starts_at.astimezone(tz).year
        last = event.ends_at.astimezone(tz).year
        known_first, known_last = years.get(event.timezone, (first, last))
        years[event.timezone] = (min(first, known_first), max(last, known_last))
    return [timezone_bytes(tzid, *span) for tzid, span in sorted(years.items())]


@lru_cache(maxsize=512)
def calendar_header(
    *,
    name: str,
    description: str,
    timezone: str,
    source_url: str = "",
    method: str = "PUBLISH",
) -> bytes:
    """BEGIN:VCALENDAR and the calendar's own properties, without the END line."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if method == "PUBLISH":
        name, description = one_line(name), one_line(description)
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("description", description)
        calendar.add("x-wr-caldesc", description)
        calendar.add("x-wr-timezone", timezone)
        calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", REFRESH)
        if source_url:
            calendar.add("source", source_url, parameters={"VALUE": "URI"})
    body = calendar.to_ical()
    return body[: -len(END)]


def assemble(header: bytes, timezones: Sequence[bytes], components: Sequence[bytes]) -> bytes:
    return b"".join((header, *timezones, *components, END))


class ComponentCache:
    """Each event's VEVENT bytes, kept per process by everything they are built from (the event's
    id and modification stamp, its status and category, the languages, the person's status), so
    an unchanged event is never built twice. Bounded: the least recently used go first."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._entries: SharedCache[tuple, bytes] = SharedCache(LRUCache(maxsize=max_entries))
        self.max_entries = max_entries

    def get_or_build(self, key: tuple, build: Callable[[], bytes]) -> bytes:
        return self._entries.get_or_build(key, build)

    def __len__(self) -> int:
        return len(self._entries)


def component_key(event: Event, site: Site, personal: Personal | None = None) -> tuple:
    category = event.category
    return (
        FORMAT_VERSION,
        event.id,
        event.updated_at,
        event.sequence,
        event.status,
        (category.slug, category.name_ja, category.name_en) if category is not None else None,
        site.domain,
        site.labels,
        (personal.status, personal.manage_url) if personal is not None else None,
    )


def feed_components(
    events: Sequence[Event],
    site: Site,
    *,
    cache: ComponentCache | None,
    personal: Sequence[Personal | None] | None = None,
) -> list[bytes]:
    components = []
    for index, event in enumerate(events):
        mine = personal[index] if personal is not None else None

        def build(event=event, mine=mine) -> bytes:
            return event_component(event, site, stamp=event.updated_at, personal=mine).to_ical()

        if cache is None:
            components.append(build())
        else:
            components.append(cache.get_or_build(component_key(event, site, mine), build))
    return components


def feed(
    events: Sequence[Event],
    site: Site,
    *,
    header: bytes,
    cache: ComponentCache | None = None,
    personal: Sequence[Personal | None] | None = None,
    max_bytes: int | None = None,
) -> bytes:
    """The whole feed: `events` in their order, each from the cache when it has not changed.

    With `max_bytes`, events are taken in order until the next one would make the feed larger
    (Google Calendar ignores feeds over 1 MB): callers order them nearest first.
    """
    components = feed_components(events, site, cache=cache, personal=personal)
    kept = len(components)
    if max_bytes is not None:
        size = len(header) + len(END) + sum(map(len, timezones_for(events)))
        for index, component in enumerate(components):
            size += len(component)
            if size > max_bytes:
                kept = index
                break
    return assemble(header, timezones_for(events[:kept]), components[:kept])


def invitation(
    event: Event,
    site: Site,
    *,
    method: str,
    attendee_email: str,
    attendee_name: str,
    stamp: datetime,
    personal: Personal | None,
) -> bytes:
    """An e-mail invitation (RFC 6047): METHOD:REQUEST for a place or a change, METHOD:CANCEL
    when the person's place or the whole event is gone.

    The UID and SEQUENCE are the event's, as in the feeds; DTSTAMP is the moment of sending, which
    tells clients a person's own cancellation from an earlier invitation with the same SEQUENCE.
    """
    component = event_component(
        event, site, stamp=stamp, personal=personal, cancelled=method == "CANCEL"
    )
    attendee = vCalAddress(f"mailto:{attendee_email}")
    attendee.params["cn"] = vText(one_line(attendee_name))
    attendee.params["role"] = "REQ-PARTICIPANT"
    attendee.params["partstat"] = "ACCEPTED" if method == "REQUEST" else "DECLINED"
    # Nobody answers these invitations by e-mail: the registration is the answer.
    attendee.params["rsvp"] = "FALSE"
    component.add("attendee", attendee)
    header = calendar_header(name="", description="", timezone=event.timezone, method=method)
    return assemble(header, timezones_for([event]), [component.to_ical()])
