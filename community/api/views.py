"""The JSON API's routes under /api: public event reads, registration, organisers' attendee lists,
and the OpenAPI document. Each route declares its input and its answers with the schemas of
schemas.py through spectree (`api.validate`, openapi.py), which validates both and generates the
document from them; the route's docstring is its summary there. The rules live in the services.

Every answer is JSON. Errors raised here (ApiError, DomainError, refused input) become
`{"error": {"code", "message", "fields"?}}` in the language of `?lang` (English by default);
routing errors and crashes get the same shape from core.views.render_error, and
`speak_the_api_language` below puts their message in `?lang` too (core renders it in the site's
language) and gives a 405 its `Allow` header back.

Cross-origin reads are allowed for the public GET endpoints only, and only for the origins in
CORS_ORIGINS, without credentials: Flask-Cors reads CORS_ORIGINS from the app's config on each
request and compares origins ignoring case (schemes and host names are case-insensitive).
Registrations are not open to browsers on other sites: they must send
`Content-Type: application/json`, which needs a preflight that is never granted.
"""

from __future__ import annotations

from functools import wraps

from cachetools import LRUCache
from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_cors import cross_origin
from werkzeug.exceptions import MethodNotAllowed

from community.accounts.services import user_for_api_token
from community.api import schemas
from community.api.openapi import RETRY_AFTER, Answers, api, header, served_document
from community.api.schemas import (
    ApiError,
    AttendeeList,
    AttendeeQuery,
    Document,
    Error,
    EventDetail,
    EventPage,
    EventQuery,
    LanguageQuery,
    RegistrationRequest,
    RegistrationResult,
    SponsorList,
)
from community.core.cache import SharedCache
from community.core.errors import DomainError
from community.core.i18n import localized
from community.core.pagecache import micro_cached
from community.core.views import ERROR_TITLES
from community.events import services as events
from community.extensions import limiter
from community.sponsorship import services as sponsorship
from community.sponsorship.views import logo_url

bp = Blueprint("api", __name__, url_prefix="/api")

CROSS_ORIGIN_READS = frozenset(
    {"api.list_events", "api.get_event", "api.list_sponsors", "api.openapi_document"}
)
BEARER_CHALLENGE = 'Bearer realm="community"'

# The answers every route may give besides its own.
INVALID = (Error, "Invalid input; `fields` names every parameter or field at fault.")
NO_EVENT = (Error, "No such published event.")
# core.views refuses these before any view runs, on every route.
UNREADABLE = (
    Error,
    "bad_request: the request holds a NUL byte or a lone surrogate (in the path, the query or "
    "the body).",
)


def _no_such_event() -> ApiError:
    return ApiError(404, "not_found", _l("There is no such event."))


def json_view(view):
    """Answer ApiError and DomainError as JSON errors, with messages in the asked language."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.api_language = schemas.requested_language(request.args)
        try:
            return view(*args, **kwargs)
        except ApiError as error:
            return _error_response(error)
        except DomainError as error:
            return _error_response(ApiError.from_domain(error))

    return wrapper


def _error_response(error: ApiError):
    with force_locale(g.api_language):
        response = jsonify(error.as_json())
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


# The origins come from the app's CORS_ORIGINS (config.py always sets it; empty: none). The
# preflight grants GET only, so a registration (POST, JSON) from another site is never allowed.
shared_with_the_communitys_sites = cross_origin(
    methods=["GET", "OPTIONS"],
    allow_headers=["Accept", "Accept-Language"],
    max_age=600,
    supports_credentials=False,
    always_send=False,
    vary_header=False,  # added below on every answer, whether the origin matched or not
)


@bp.after_request
def vary_on_origin(response):
    if request.endpoint in CROSS_ORIGIN_READS:
        # The answer depends on the Origin header: a shared cache must not hand one site's to
        # another.
        response.vary.add("Origin")
    return response


@bp.after_app_request
def speak_the_api_language(response):
    """Errors that never reached an API view (no such route, wrong method, a crash, a rate limit)
    are rendered by core.views in the site's language: say them in `?lang`, as the API's own
    errors are. Only the generic titles are replaced, never a message a view chose."""
    if not request.path.startswith("/api/") or response.status_code < 400:
        return response
    routing = request.routing_exception
    if isinstance(routing, MethodNotAllowed) and routing.valid_methods:
        response.headers.setdefault("Allow", ", ".join(sorted(routing.valid_methods)))
    title = ERROR_TITLES.get(response.status_code)
    if title is None or response.mimetype != "application/json" or response.is_streamed:
        return response
    body = response.get_json(silent=True)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("code") != str(response.status_code):
        return response
    titles = {}
    for language in schemas.LANGUAGES:
        with force_locale(language):
            titles[language] = str(title)
    wanted = titles[schemas.requested_language(request.args)]
    if error.get("message") in titles.values() and error["message"] != wanted:
        error["message"] = wanted
        response.set_data(current_app.json.dumps(body) + "\n")
    return response


# --- public reads --------------------------------------------------------------------------------


def _event_entries() -> SharedCache:
    """The API's entries of events, per app, by what each shows (never stale: see list_events)."""
    found = current_app.extensions.get("api_event_entries")
    if found is None:
        found = current_app.extensions["api_event_entries"] = SharedCache(LRUCache(maxsize=4096))
    return found


@bp.get("/v1/events")
@shared_with_the_communitys_sites
@micro_cached
@json_view
@api.validate(
    resp=Answers(
        HTTP_200=(EventPage, "One page of events."), HTTP_400=UNREADABLE, HTTP_422=INVALID
    ),
    operation_id="listEvents",
)
def list_events(query: EventQuery):
    """Upcoming published and cancelled events, soonest first. Each event's entry is made
    once per change of what it shows (its stamp and counters, its tickets' counters, the
    events' version, the language): a page whose entries are all known reads three small
    queries and no event."""
    page = events.list_event_stamps(query.filters, page=query.page, per_page=query.per_page)
    counters = events.ticket_counters([stamp.id for stamp in page.items])
    version = events.catalog_version()
    known = _event_entries()
    keys = [(query.language, version, stamp, counters[stamp.id]) for stamp in page.items]
    items = [known.get(key) for key in keys]
    missing = [stamp.id for stamp, item in zip(page.items, items, strict=True) if item is None]
    if missing:
        loaded = {e.id: e for e in events.events_with_ids(missing, with_tickets=True)}
        for index, (stamp, key) in enumerate(zip(page.items, keys, strict=True)):
            if items[index] is None and stamp.id in loaded:
                items[index] = schemas.event_json(loaded[stamp.id], query.language)
                known.put(key, items[index])
        items = [item for item in items if item is not None]  # unpublished meanwhile
    next_url = None
    if page.has_next:
        base = current_app.config["BASE_URL"]
        args = request.args.to_dict(flat=True)
        args["page"] = str(page.number + 1)
        next_url = base + url_for("api.list_events", **args)
    return jsonify(
        {
            "events": items,
            "page": page.number,
            "per_page": page.per_page,
            "next": next_url,
        }
    )


@bp.get("/v1/events/<slug>")
@shared_with_the_communitys_sites
@micro_cached
@json_view
@api.validate(
    resp=Answers(
        HTTP_200=(EventDetail, "The event."),
        HTTP_400=UNREADABLE,
        HTTP_404=NO_EVENT,
        HTTP_422=INVALID,
    ),
    operation_id="getEvent",
)
def get_event(slug: str, query: LanguageQuery):
    """One published or cancelled event, with its questions."""
    event = events.get_published_event(slug) if schemas.is_slug(slug) else None
    if event is None:
        raise _no_such_event()
    return jsonify(schemas.event_detail_json(event, query.language))


@bp.get("/v1/sponsors")
@shared_with_the_communitys_sites
@micro_cached
@json_view
@api.validate(
    resp=Answers(
        HTTP_200=(SponsorList, "The partners, by tier."), HTTP_400=UNREADABLE, HTTP_422=INVALID
    ),
    operation_id="listSponsors",
)
def list_sponsors(query: LanguageQuery):
    """Active partners grouped by tier in tier order, for the community's other sites."""
    base = current_app.config["BASE_URL"]
    tiers = []
    for tier, partners in sponsorship.wall():
        sponsors = []
        for partner in partners:
            logo = logo_url(partner)
            sponsors.append(
                {
                    "name": localized(partner, "name", query.language),
                    "logo_url": base + logo if logo else None,
                    "website": partner.website,
                }
            )
        tiers.append(
            {
                "slug": tier.slug,
                "name": localized(tier, "name", query.language),
                "logo_size": tier.logo_size,
                "sponsors": sponsors,
            }
        )
    return jsonify({"tiers": tiers})


# --- registering ---------------------------------------------------------------------------------


def _registration_checks(view):
    """What is answered before the input is validated: an event that cannot exist (404), and a
    body nested too deep for the JSON parser (400: it gives up with RecursionError, which is not
    the ValueError a malformed body raises)."""

    @wraps(view)
    def wrapper(slug: str, **kwargs):
        if not schemas.is_slug(slug):
            raise _no_such_event()
        try:
            request.get_json(silent=True)  # parsed once: the validation reuses it
        except RecursionError:
            raise ApiError(
                400, "bad_request", _l("Send a JSON object with Content-Type: application/json.")
            ) from None
        return view(slug, **kwargs)

    return wrapper


def _registration_input(request, response, error, instance, adapter) -> None:
    """spectree's `before` hook for registrations, in the order the answers always came: a bad
    query string (422), a body that is not a JSON object (400), then the body's fields (422), in
    the body's `language` when ?lang does not say."""
    if error is not None and error.title != RegistrationRequest.__name__:
        raise ApiError.from_validation(error)
    body = request.get_json(silent=True) if request.is_json else None
    if body is None:
        raise ApiError(
            400, "bad_request", _l("Send a JSON object with Content-Type: application/json.")
        )
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", _l("Send a JSON object with name and email."))
    if not request.args.get("lang") and body.get("language") in schemas.LANGUAGES:
        g.api_language = body["language"]
    if error is not None:
        raise ApiError.from_validation(error)


@bp.post("/v1/events/<slug>/registrations")
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"])
@json_view
@_registration_checks
@api.validate(
    resp=Answers(
        HTTP_201=(RegistrationResult, "Registered."),
        HTTP_400=(
            Error,
            "bad_request: the body is not a JSON object (or not JSON, or not sent as "
            "application/json), or the request holds a NUL byte or a lone surrogate.",
        ),
        HTTP_404=NO_EVENT,
        HTTP_409=(Error, "This e-mail address is already registered."),
        HTTP_410=(Error, "Registration is closed, or the event is cancelled."),
        HTTP_413=(Error, "The body is too large."),
        HTTP_422=INVALID,
        HTTP_429=(Error, "Too many registrations from this address; wait a minute."),
        HTTP_503=(
            Error,
            "busy: the database was too busy; try again. payment_unavailable: the payment page "
            "could not be opened (the place held was given up; register again later).",
        ),
        headers={503: RETRY_AFTER},
    ),
    before=_registration_input,
    operation_id="register",
)
def register(slug: str, query: LanguageQuery, json: RegistrationRequest):
    """Register a guest: confirmed, waitlisted when full, or awaiting_payment for a paid ticket.

    Not open to browsers on other sites (no CORS): call it from a server. Rate-limited per
    client address (RATELIMIT_REGISTER).
    """
    registration = events.register_for_event(
        slug,
        name=json.name,
        email=json.email,
        ticket_type=json.ticket_type or None,
        answers=json.answers or {},
        language=json.language or query.explicit_language or schemas.DEFAULT_LANGUAGE,
        voucher=json.voucher,
    )
    checkout_url = None
    if registration.status == "awaiting_payment":
        try:
            checkout_url = events.payment_page_for(registration)
        except DomainError as error:
            # The hold was released (the next person promoted): nothing is left waiting to pay.
            # The lazy message, not str(error): that one is in the site's language, not ?lang.
            raise ApiError(
                503, "payment_unavailable", error.message, headers={"Retry-After": "60"}
            ) from error
    return jsonify(schemas.registration_result_json(registration, checkout_url)), 201


# --- organisers ----------------------------------------------------------------------------------


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def organisers_only(view):
    """The token's organiser or admin in g.organiser, before the input is looked at; 401 with a
    Bearer challenge otherwise."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _bearer_token()
        user = user_for_api_token(token) if token else None
        if user is None:
            if token is None:
                message = _l("Send an API token: Authorization: Bearer <token>.")
                challenge = BEARER_CHALLENGE
            else:
                message = _l("This API token is not valid or was revoked.")
                challenge = f'{BEARER_CHALLENGE}, error="invalid_token"'
            raise ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})
        g.organiser = user
        return view(*args, **kwargs)

    return wrapper


@bp.get("/v1/events/<slug>/attendees")
@json_view
@organisers_only
@api.validate(
    resp=Answers(
        HTTP_200=(AttendeeList, "The registrations."),
        HTTP_400=UNREADABLE,
        HTTP_401=(Error, "No token, or a token that is unknown or revoked."),
        HTTP_404=(Error, "No such event among those this token's owner runs."),
        HTTP_422=INVALID,
        headers={401: {"WWW-Authenticate": header("The Bearer challenge.", required=True)}},
    ),
    security={"bearerAuth": []},
    operation_id="listAttendees",
)
def attendees(slug: str, query: AttendeeQuery):
    """The event's registrations, in queue order (organisers only).

    Needs an API token of one of the event's organisers or of an admin, made on the profile
    page. Another organiser's event answers 404, as if it did not exist.
    """
    organiser = g.organiser
    event = events.find_visible_event(slug, organiser) if schemas.is_slug(slug) else None
    # Someone else's event answers exactly like a missing one: a token does not reveal which
    # events, drafts included, exist.
    if event is None or not events.can_manage(organiser, event):
        raise _no_such_event()
    rows = events.attendees(event, query.filters)
    response = jsonify(
        {
            "event": event.slug,
            "attendees": [schemas.attendee_json(row, event) for row in rows],
        }
    )
    # Personal data: no cache, shared or private, may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the document --------------------------------------------------------------------------------


@bp.get("/openapi.json")
@shared_with_the_communitys_sites
@api.validate(
    resp=Answers(HTTP_200=(Document, "OpenAPI 3.1.")),
    skip_validation=True,  # it takes no input, and it is generated from the schemas
    # It refuses nothing, so no 422 is listed: spectree adds the refusal's answer only for a
    # status not already described.
    validation_error_status=200,
    operation_id="openapiDocument",
)
def openapi_document():
    """This document."""
    return jsonify(served_document())
