"""Calendar files: one event as .ics (the subscribable feeds come with the calendar work)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, request

from community.calendar.ical import single_event_calendar
from community.core.i18n import current_language
from community.core.urls import external_url
from community.events import services

bp = Blueprint("calendar", __name__)


@bp.get("/events/<slug>.ics")
def event_ics(slug: str):
    event = services.get_published_event(slug)
    if event is None:
        abort(404)
    language = request.args.get("lang") if request.args.get("lang") in ("ja", "en") else None
    body = single_event_calendar(
        event,
        domain=urlsplit(current_app.config["BASE_URL"]).hostname or "localhost",
        url=external_url("events.detail", slug=event.slug),
        language=language or current_language(),
        stamp=event.updated_at,
    )
    headers = {
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{event.slug}.ics"',
    }
    return body, 200, headers
