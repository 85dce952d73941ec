"""The feeds over HTTP: `/calendar.ics`, `/calendar/<category or kind>.ics`, `/events/<slug>.ics`
and the private `/calendar/u/<token>.ics`.

Each answer carries a strong ETag computed from its bytes and a Last-Modified that never goes
back. Werkzeug answers the conditional request: a matching If-None-Match, or without one an
If-Modified-Since no earlier than Last-Modified, gets a 304. The services ask Werkzeug's rule
first, so that a feed the client already holds is not even built. Feeds are
never compressed: several calendar clients mishandle compressed feeds, and `no-transform` asks
proxies not to either.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import gettext as _
from werkzeug.http import http_date, is_resource_modified, quote_etag

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


# A feed is only ever read: the conditions of a read decide (If-None-Match, else
# If-Modified-Since). If-Match and If-Unmodified-Since guard writes, and Werkzeug would refuse
# even `If-Match: *` with a 412; they are ignored, as Range is (feeds are served whole).
_READ_CONDITIONS = ("REQUEST_METHOD", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")


def _read_conditions() -> dict[str, str]:
    return {name: request.environ[name] for name in _READ_CONDITIONS if name in request.environ}


def _unchanged(etag: str, modified_at: datetime) -> bool:
    """Whether the client already holds the feed with this ETag and modification time, by the
    rule `make_conditional` applies below (Werkzeug's)."""
    return not is_resource_modified(
        _read_conditions(), etag=quote_etag(etag), last_modified=modified_at
    )


_CONTENT_TYPE = "text/calendar; charset=utf-8"


_CACHE_CONTROL = {
    False: f"public, max-age={MAX_AGE}, no-transform",
    True: f"private, max-age={MAX_AGE}, no-transform",
}


def _respond(served: services.Served, *, private: bool, filename: str) -> Response:
    """The feed, or a 304 when the client's copy is current (`_unchanged`, Werkzeug's rule of
    make_conditional: the services then built no body, or served one kept in memory). Either
    answer carries the validators and the caching rules (RFC 9110, 15.4.5), written as they
    are, without Werkzeug's per-header parsing and lookups (most of a 304's cost)."""
    headers = [
        ("ETag", quote_etag(served.etag)),
        ("Last-Modified", http_date(served.modified_at)),
        ("Cache-Control", _CACHE_CONTROL[private]),
    ]
    if private:
        headers.append(("X-Robots-Tag", "noindex, nofollow"))
    if served.body is None or _unchanged(served.etag, served.modified_at):
        return Response(status=304, headers=headers, content_type=_CONTENT_TYPE)
    headers.append(("Content-Disposition", f'inline; filename="{filename}"'))
    return Response(served.body, headers=headers, content_type=_CONTENT_TYPE)


def _scope_names(scope: services.Scope):
    if scope.kind == "workshop":
        return lambda: _("Tokyo Tech Community: workshops")
    if scope.kind == "event":
        return lambda: _("Tokyo Tech Community: events")
    if scope.category_slug:
        category = events.find_category(scope.category_slug)
        return lambda: _("Tokyo Tech Community: %(category)s", category=category.name)
    return lambda: _("Tokyo Tech Community")


def _public_header(scope: services.Scope, languages: tuple[str, ...]) -> bytes:
    """The feed's calendar header. Its words come from the catalogs, which change only with a
    deploy: kept per app for the whole calendar and the kinds; a category's (whose name can
    change) is made for each request."""
    source_url = _source_url()

    def make() -> bytes:
        return header_for(
            languages,
            _scope_names(scope),
            lambda: _("Events and workshops of the Tokyo Tech Community."),
            source_url,
        )

    if scope.category_slug:
        return make()
    kept = current_app.extensions.setdefault("calendar_headers", {})
    key = (scope.key, languages, source_url)
    header = kept.get(key)
    if header is None:
        header = kept[key] = make()
    return header


def _public(scope: services.Scope | None, filename: str) -> Response:
    if scope is None:
        abort(404)
    languages = requested_languages()
    header = _public_header(scope, languages)
    served = services.public_feed(scope, site_for(languages), header, unchanged=_unchanged)
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
    served = services.event_feed(event, site_for(languages), header, unchanged=_unchanged)
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
        feed, site_for(languages), header, manage_url, unchanged=_unchanged
    )
    return _respond(served, private=True, filename="my-events.ics")
