"""Links that hand a calendar to a calendar client: `webcal://` subscriptions, Google Calendar's
subscribe and "add this event" links, and the location text they carry.

Pure functions over strings, datetimes and events: no request, no database, no translation (the
caller passes the words it wants, e.g. the translated "Online"). Pages and templates use them
through the template globals in pages.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlsplit, urlunsplit

GOOGLE_RENDER = "https://calendar.google.com/calendar/render"
# Google's template link takes both ends in UTC, in the basic ISO 8601 form.
GOOGLE_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def webcal_url(feed_url: str) -> str:
    """The feed's address with `webcal://` in place of `http(s)://`: the scheme that makes a
    browser hand the address to the calendar app as a subscription rather than download it."""
    parts = urlsplit(feed_url)
    if parts.scheme not in ("http", "https", "webcal"):
        raise ValueError(f"not an http(s) address: {feed_url!r}")
    return urlunsplit(("webcal", *parts[1:]))


def google_subscribe_url(feed_url: str) -> str:
    """Google Calendar's "add this calendar" page for a feed (it asks before subscribing)."""
    return f"{GOOGLE_RENDER}?cid={quote(webcal_url(feed_url), safe='')}"


def google_date(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no place on a calendar")
    return moment.astimezone(UTC).strftime(GOOGLE_DATE_FORMAT)


def google_event_url(
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    details: str = "",
    location: str = "",
    timezone: str = "",
) -> str:
    """Google Calendar's page that adds one event (the person confirms it there)."""
    parameters = [
        ("action", "TEMPLATE", ""),
        ("text", title, ""),
        # The slash between the two ends is the format's own separator: Google documents it bare.
        ("dates", f"{google_date(starts_at)}/{google_date(ends_at)}", "/"),
        ("details", details, ""),
        ("location", location, ""),
        ("ctz", timezone, "/"),
    ]
    query = "&".join(
        f"{name}={quote(value, safe=safe)}" for name, value, safe in parameters if value
    )
    return f"{GOOGLE_RENDER}?{query}"


def event_location(event, online: str) -> str:
    """Where an event is, as one line: its venue, the word for online, or both (hybrid)."""
    venue = ", ".join(part for part in (event.venue_name, event.venue_address) if part)
    if event.format == "online":
        return online
    if event.format == "hybrid":
        return f"{venue} / {online}" if venue else online
    return venue


def event_details(summary: str, event_url: str) -> str:
    """The description of an added event: its summary, then the way back to its page."""
    return "\n\n".join(part for part in (summary.strip(), event_url) if part)
