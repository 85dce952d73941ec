"""The JSON API's routes under /api: public event reads, registration, organisers' attendee lists,
and the OpenAPI document. Parsing and serialising live in schemas.py, the rules in the services.

Every answer is JSON. Errors raised here (ApiError, DomainError) become
`{"error": {"code", "message", "fields"?}}` in the language of `?lang` (English by default);
routing errors and crashes get the same shape from core.views.render_error, and
`speak_the_api_language` below puts their message in `?lang` too (core renders it in the site's
language) and gives a 405 its `Allow` header back.

Cross-origin reads are allowed for the public GET endpoints only, and only for the exact origins in
CORS_ORIGINS, without credentials. Registrations are not open to browsers on other sites: they
must send `Content-Type: application/json`, which needs a preflight that is never granted.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import MethodNotAllowed

from community.accounts.services import user_for_api_token
from community.api import schemas
from community.api.openapi import build_document
from community.api.schemas import ApiError
from community.core.errors import DomainError
from community.core.pagecache import micro_cached
from community.core.views import ERROR_TITLES
from community.events import services as events
from community.extensions import limiter

bp = Blueprint("api", __name__, url_prefix="/api")

CROSS_ORIGIN_READS = frozenset({"api.list_events", "api.get_event", "api.openapi_document"})
BEARER_CHALLENGE = 'Bearer realm="community"'


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


@bp.after_request
def allow_cross_origin_reads(response):
    if request.endpoint not in CROSS_ORIGIN_READS:
        return response
    # The answer depends on the Origin header: a shared cache must not hand one site's to another.
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin and origin in current_app.config["CORS_ORIGINS"]:
        response.headers["Access-Control-Allow-Origin"] = origin
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language"
            response.headers["Access-Control-Max-Age"] = "600"
    return response


# --- public reads --------------------------------------------------------------------------------


@bp.get("/v1/events")
@micro_cached
@json_view
def list_events():
    query = schemas.parse_event_query(request.args)
    page = events.list_events(
        query.filters, page=query.page, per_page=query.per_page, with_tickets=True
    )
    next_url = None
    if page.has_next:
        base = current_app.config["BASE_URL"]
        args = request.args.to_dict(flat=True)
        args["page"] = str(page.number + 1)
        next_url = base + url_for("api.list_events", **args)
    return jsonify(
        {
            "events": [schemas.event_json(event, query.language) for event in page.items],
            "page": page.number,
            "per_page": page.per_page,
            "next": next_url,
        }
    )


@bp.get("/v1/events/<slug>")
@micro_cached
@json_view
def get_event(slug: str):
    language = schemas.parse_language_only(request.args)
    event = events.get_published_event(slug) if schemas.is_slug(slug) else None
    if event is None:
        raise _no_such_event()
    return jsonify(schemas.event_detail_json(event, language))


# --- registering ---------------------------------------------------------------------------------


@bp.post("/v1/events/<slug>/registrations")
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"])
@json_view
def register(slug: str):
    if not schemas.is_slug(slug):
        raise _no_such_event()
    query_language = schemas.explicit_language(request.args)
    body = _json_body()
    if body is None:
        raise ApiError(
            400, "bad_request", _l("Send a JSON object with Content-Type: application/json.")
        )
    if query_language is None and isinstance(body, dict) and body.get("language") in ("ja", "en"):
        g.api_language = body["language"]
    data = schemas.parse_registration(body, query_language)
    registration = events.register_for_event(
        slug,
        name=data.name,
        email=data.email,
        ticket_type=data.ticket_type,
        answers=data.answers,
        language=data.language,
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


def _json_body():
    """The parsed body, or None when it is not JSON (wrong type, malformed, or nested too deep)."""
    if not request.is_json:
        return None
    try:
        return request.get_json(silent=True)
    except RecursionError:
        # json.loads gives up on thousands of nested brackets with RecursionError, not ValueError.
        return None


# --- organisers ----------------------------------------------------------------------------------


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _organiser():
    """The token's organiser or admin; 401 with a Bearer challenge otherwise."""
    token = _bearer_token()
    user = user_for_api_token(token) if token else None
    if user is not None:
        return user
    if token is None:
        message = _l("Send an API token: Authorization: Bearer <token>.")
        challenge = BEARER_CHALLENGE
    else:
        message = _l("This API token is not valid or was revoked.")
        challenge = f'{BEARER_CHALLENGE}, error="invalid_token"'
    raise ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


@bp.get("/v1/events/<slug>/attendees")
@json_view
def attendees(slug: str):
    organiser = _organiser()
    filters = schemas.parse_attendee_query(request.args)
    event = events.find_visible_event(slug, organiser) if schemas.is_slug(slug) else None
    # Someone else's event answers exactly like a missing one: a token does not reveal which
    # events, drafts included, exist.
    if event is None or not events.can_manage(organiser, event):
        raise _no_such_event()
    rows = events.attendees(event, filters)
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
def openapi_document():
    return jsonify(build_document(current_app.config["BASE_URL"]))
