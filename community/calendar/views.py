"""The feeds over HTTP: `/calendar.ics`, `/calendar/<category or kind>.ics`, `/events/<slug>.ics`
and the private `/calendar/u/<token>.ics`.

Each answer carries a strong ETag computed from its bytes and a Last-Modified that never goes
back; a matching If-None-Match (or, without one, If-Modified-Since) is answered 304. Feeds are
never compressed: several calendar clients mishandle compressed feeds, and `no-transform` asks
proxies not to either.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import gettext as _
from werkzeug.http import http_date

from community.calendar import services
from community.calendar.site import header_for, site_for
from community.events import services as events
from community.events.notify import manage_url

bp = Blueprint("calendar", __name__)

MAX_AGE = 300


def requested_languages(default: tuple[str, ...] = ("ja", "en")) -> tuple[str, ...]:
    language = request.args.get("lang")
    return (language,) if language in ("ja", "en") else default


def _source_url() -> str:
    """This feed's address for SOURCE: from BASE_URL, never from the request's Host header or
    stray query parameters (either would change the bytes and so the ETag)."""
    language = request.args.get("lang")
    query = f"?lang={language}" if language in ("ja", "en") else ""
    return current_app.config["BASE_URL"] + request.path + query


def _if_none_match(etag: str) -> bool:
    tags = request.if_none_match
    return bool(tags) and (tags.star_tag or tags.contains_weak(etag))


def _respond(served: services.Served, *, private: bool, filename: str) -> Response:
    headers = {
        "ETag": f'"{served.etag}"',
        "Last-Modified": http_date(served.modified_at),
        "Cache-Control": f"{'private' if private else 'public'}, max-age={MAX_AGE}, no-transform",
    }
    if private:
        headers["X-Robots-Tag"] = "noindex, nofollow"
    since = request.if_modified_since
    not_modified = _if_none_match(served.etag) or (
        not request.if_none_match
        and since is not None
        and served.modified_at.replace(microsecond=0) <= since
    )
    if not_modified or served.body is None:
        return Response(status=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return Response(served.body, status=200, headers=headers, content_type=_CONTENT_TYPE)


_CONTENT_TYPE = "text/calendar; charset=utf-8"


def _scope_names(scope: services.Scope):
    if scope.kind == "workshop":
        return lambda: _("Tokyo Tech Community: workshops")
    if scope.kind == "event":
        return lambda: _("Tokyo Tech Community: events")
    if scope.category_slug:
        category = events.find_category(scope.category_slug)
        return lambda: _("Tokyo Tech Community: %(category)s", category=category.name)
    return lambda: _("Tokyo Tech Community")


def _public(scope: services.Scope | None, filename: str) -> Response:
    if scope is None:
        abort(404)
    languages = requested_languages()
    header = header_for(
        languages,
        _scope_names(scope),
        lambda: _("Events and workshops of the Tokyo Tech Community."),
        _source_url(),
    )
    served = services.public_feed(scope, site_for(languages), header, if_none_match=_if_none_match)
    return _respond(served, private=False, filename=filename)


@bp.get("/calendar.ics")
def public_feed():
    return _public(services.public_scope(None), "calendar.ics")


@bp.get("/calendar/<name>.ics")
def scoped_feed(name: str):
    return _public(services.public_scope(name), f"{name}.ics")


@bp.get("/events/<slug>.ics")
def event_ics(slug: str):
    event = events.get_published_event(slug)
    if event is None:
        abort(404)
    languages = requested_languages()
    header = header_for(
        languages,
        lambda: event.title,
        lambda: _("An event of the Tokyo Tech Community."),
        _source_url(),
    )
    served = services.event_feed(event, site_for(languages), header, if_none_match=_if_none_match)
    response = _respond(served, private=False, filename=f"{event.slug}.ics")
    if response.status_code == 200:
        response.headers["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response


@bp.get("/calendar/u/<token>.ics")
def private_feed(token: str):
    feed = services.find_feed(token)
    if feed is None:
        abort(404)
    owner = services.feed_owner(feed)
    languages = requested_languages((owner.language,))
    header = header_for(
        languages,
        lambda: _("Tokyo Tech Community: my registrations"),
        lambda: _("The events you registered for at the Tokyo Tech Community."),
        "",
    )
    served = services.private_feed(
        feed, site_for(languages), header, manage_url, if_none_match=_if_none_match
    )
    return _respond(served, private=True, filename="my-events.ics")
