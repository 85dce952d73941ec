"""The OpenAPI 3.1 document of the JSON API, built as a Python dict and served at /api/openapi.json.

It describes what views.py and schemas.py really do: every route, parameter, body, response and
status. tests/api/test_openapi_conformance.py runs schemathesis against the app to keep the two
in step; change them together. Enumerations come from the models, so they cannot drift.
"""

from __future__ import annotations

from email_validator import SPECIAL_USE_DOMAIN_NAMES

from community.api.schemas import (
    CATEGORY_RE,
    DEFAULT_PER_PAGE,
    LANGUAGES,
    LINE_PATTERN,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_SEARCH,
    NAME_PATTERN,
    NUMBER_RE,
    SLUG_RE,
    TEXT_PATTERN,
)
from community.events.models import (
    EVENT_LANGUAGES,
    FORMATS,
    KINDS,
    QUESTION_KINDS,
    REGISTRATION_STATUSES,
)

SLUG_PATTERN = SLUG_RE.pattern


# e-mail addresses are checked with email-validator, which refuses the special-use domains.
EMAIL_PATTERN = (
    "^(?!.*[.@](?:"
    + "|".join("".join(f"[{c.upper()}{c}]" for c in name) for name in SPECIAL_USE_DOMAIN_NAMES)
    + ")\\.?$)"
)


def _or_empty(pattern: str) -> str:
    """`pattern`, or nothing at all: the query string's empty value, which means "not given"."""
    return f"^(?:{pattern.removeprefix('^').removesuffix('$')})?$"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


DATE_TIME = {"type": "string", "format": "date-time"}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Machine-readable: invalid, not_found, conflict, "
                        "registration_closed, busy, payment_unavailable, unauthorized, "
                        "bad_request, or the HTTP status for routing errors (e.g. 404, 405, "
                        "413, 429, 500).",
                    },
                    "message": {
                        "type": "string",
                        "description": "For people, in the language of ?lang (English by default).",
                    },
                    "fields": {
                        "type": "object",
                        "description": "Input at fault → what is wrong with it. Answers to "
                        "questions are named answers.<question id>.",
                        "additionalProperties": {"type": "string"},
                    },
                },
            }
        },
    },
    "TicketType": {
        "type": "object",
        "required": ["slug", "name", "price_minor", "currency", "members_only", "places_left"],
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "price_minor": {
                "type": "integer",
                "minimum": 0,
                "description": "In the currency's minor unit (JPY has none: 5000 is ¥5,000). "
                "0 is free.",
            },
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "members_only": {"type": "boolean"},
            "places_left": {"type": "integer", "minimum": 0},
        },
    },
    "Event": {
        "type": "object",
        "required": [
            "slug",
            "title",
            "summary",
            "kind",
            "category",
            "format",
            "language",
            "starts_at",
            "ends_at",
            "timezone",
            "capacity",
            "places_left",
            "status",
            "url",
            "ics_url",
            "ticket_types",
        ],
        "properties": {
            "slug": {"type": "string", "pattern": SLUG_PATTERN},
            "title": {"type": "string", "description": "In ?lang, or the other language."},
            "summary": {"type": "string"},
            "kind": {"type": "string", "enum": list(KINDS)},
            "category": {"type": ["string", "null"], "description": "The category's slug."},
            "format": {"type": "string", "enum": list(FORMATS)},
            "language": {"type": "string", "enum": list(EVENT_LANGUAGES)},
            "starts_at": {
                **DATE_TIME,
                "description": "ISO 8601 with the offset of the event's time zone.",
            },
            "ends_at": DATE_TIME,
            "timezone": {"type": "string", "description": "IANA name, e.g. Asia/Tokyo."},
            "capacity": {"type": "integer", "minimum": 0},
            "places_left": {"type": "integer", "minimum": 0},
            "status": {"type": "string", "enum": ["published", "cancelled"]},
            "url": {"type": "string", "format": "uri"},
            "ics_url": {"type": "string", "format": "uri"},
            "ticket_types": {"type": "array", "items": _ref("TicketType")},
        },
    },
    "Question": {
        "type": "object",
        "required": ["id", "kind", "label", "required", "options"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": list(QUESTION_KINDS)},
            "label": {"type": "string"},
            "required": {"type": "boolean"},
            "options": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["value", "label"],
                    "properties": {"value": {"type": "string"}, "label": {"type": "string"}},
                },
            },
        },
    },
    "EventPage": {
        "type": "object",
        "required": ["events", "page", "per_page", "next"],
        "properties": {
            "events": {"type": "array", "items": _ref("Event")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "next": {
                "type": ["string", "null"],
                "format": "uri",
                "description": "The next page, absolute; null on the last page.",
            },
        },
    },
    "RegistrationRequest": {
        "type": "object",
        "required": ["name", "email"],
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "pattern": NAME_PATTERN,
                "description": "1 to 120 characters once spaces at either end are removed "
                "(the name is kept without them); no control characters, line or paragraph "
                "separators.",
            },
            "email": {
                "type": "string",
                "format": "email",
                "pattern": EMAIL_PATTERN,
                "description": "Not at a special-use domain (RFC 6761: .test, .local, …).",
            },
            "ticket_type": {
                "type": ["string", "null"],
                "pattern": r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$",
                "maxLength": 60,
                "description": "A ticket type's slug; may be left out when one type is on sale.",
            },
            "answers": {
                "type": ["object", "null"],
                "description": "Question id → the answer: a text, or a list of option values "
                "for multiple choice.",
                "propertyNames": {"pattern": NUMBER_RE.pattern},
                "additionalProperties": {
                    "type": ["string", "array", "null"],
                    "pattern": TEXT_PATTERN,
                    "items": {"type": ["string", "null"], "pattern": TEXT_PATTERN},
                    "description": "No control characters other than tabs and line breaks.",
                },
            },
            "voucher": {
                "type": ["string", "null"],
                "maxLength": 100,
                "description": "Reserved for partners' vouchers: accepted, not used yet.",
            },
            "language": {
                "type": ["string", "null"],
                "enum": [*LANGUAGES, None],
                "description": "The registrant's language for e-mails; default ?lang, else en.",
            },
        },
    },
    "RegistrationResult": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["confirmed", "waitlisted", "awaiting_payment"]},
            "checkout_url": {
                "type": "string",
                "format": "uri",
                "description": "Where to pay (Stripe Checkout, or the sandbox's test page), "
                "present when status is awaiting_payment.",
            },
        },
    },
    "Attendee": {
        "type": "object",
        "required": [
            "id",
            "name",
            "email",
            "status",
            "ticket_type",
            "created_at",
            "checked_in_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "email": {"type": "string"},
            "status": {"type": "string", "enum": list(REGISTRATION_STATUSES)},
            "ticket_type": {"type": "string", "description": "The ticket type's slug."},
            "created_at": DATE_TIME,
            "checked_in_at": _nullable(DATE_TIME),
        },
    },
    "AttendeeList": {
        "type": "object",
        "required": ["event", "attendees"],
        "properties": {
            "event": {"type": "string", "description": "The event's slug."},
            "attendees": {"type": "array", "items": _ref("Attendee")},
        },
    },
}


def _query(name: str, schema: dict, description: str, example=None) -> dict:
    parameter = {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }
    if example is not None:
        parameter["example"] = example
    return parameter


def _choice(values, **extra) -> dict:
    """One of `values`, or empty (the same as leaving the parameter out, as a form would send)."""
    return {"type": "string", "enum": [*values, ""], **extra}


LANG = _query(
    "lang",
    _choice(LANGUAGES, default="en"),
    "Language of titles, summaries, names and error messages; empty or absent: en.",
    "ja",
)
SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": 80},
    "example": "career-night-2026-05",
}
PERIOD = (
    "An RFC 3339 (ISO 8601) date (2026-05-31: the whole day in DEFAULT_TIMEZONE) or date-time "
    "(2026-05-31T18:30:00+09:00). For people typing them, the seconds and the offset may also "
    "be left out (2026-05-31T18:30: DEFAULT_TIMEZONE). Empty: not given."
)
MOMENT = {
    "type": "string",
    "anyOf": [{"maxLength": 0}, {"format": "date"}, {"format": "date-time"}],
}


def _json(schema_name: str, description: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema_name)}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str, headers: dict | None = None) -> dict:
    return _json("Error", description, headers)


INVALID = _error("Invalid input; `fields` names every parameter or field at fault.")
NO_EVENT = _error("No such published event.")
# core.views refuses these before any view runs, on every route.
UNREADABLE = _error(
    "bad_request: the request holds a NUL byte or a lone surrogate (in the path, the query or "
    "the body)."
)
RETRY_AFTER = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait."}}


def build_document(base_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "community API",
            "version": "1.0.0",
            "description": "Events and workshops of the community: read them, register for "
            "them, and (organisers) list their attendees. Every answer is JSON; every error is "
            '{"error": {"code", "message", "fields"?}}.',
        },
        "servers": [{"url": base_url}],
        "paths": {
            "/api/v1/events": {
                "get": {
                    "operationId": "listEvents",
                    "summary": "Upcoming published and cancelled events, soonest first.",
                    "parameters": [
                        LANG,
                        _query("kind", _choice(KINDS), "Event or workshop.", "workshop"),
                        _query(
                            "category",
                            {
                                "type": "string",
                                "pattern": _or_empty(CATEGORY_RE.pattern),
                                "maxLength": 60,
                            },
                            "A category's slug; an unknown one gives an empty list.",
                            "career",
                        ),
                        _query("format", _choice(FORMATS), "Format.", "online"),
                        _query(
                            "language",
                            _choice(EVENT_LANGUAGES),
                            "The event's language; bilingual (ja_en) events match ja and en.",
                            "en",
                        ),
                        _query(
                            "from", MOMENT, "Events starting then or later. " + PERIOD, "2026-05-01"
                        ),
                        _query(
                            "to",
                            MOMENT,
                            "Events starting before then (a date: before the next day). "
                            + PERIOD
                            + " A period ending before it starts holds no events.",
                            "2026-05-31T18:30:00+09:00",
                        ),
                        _query(
                            "page",
                            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                            "Page number (empty: 1).",
                            2,
                        ),
                        _query(
                            "per_page",
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_PER_PAGE,
                                "default": DEFAULT_PER_PAGE,
                            },
                            "Events per page (empty: 20).",
                            50,
                        ),
                    ],
                    "responses": {
                        "200": _json("EventPage", "One page of events."),
                        "400": UNREADABLE,
                        "422": INVALID,
                    },
                }
            },
            "/api/v1/events/{slug}": {
                "get": {
                    "operationId": "getEvent",
                    "summary": "One published or cancelled event, with its questions.",
                    "parameters": [SLUG, LANG],
                    "responses": {
                        "200": {
                            "description": "The event.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "allOf": [
                                            _ref("Event"),
                                            {
                                                "type": "object",
                                                "required": ["questions"],
                                                "properties": {
                                                    "questions": {
                                                        "type": "array",
                                                        "items": _ref("Question"),
                                                    }
                                                },
                                            },
                                        ]
                                    }
                                }
                            },
                        },
                        "400": UNREADABLE,
                        "404": NO_EVENT,
                        "422": INVALID,
                    },
                }
            },
            "/api/v1/events/{slug}/registrations": {
                "post": {
                    "operationId": "register",
                    "summary": "Register a guest: confirmed, waitlisted when full, or "
                    "awaiting_payment for a paid ticket.",
                    "description": "Not open to browsers on other sites (no CORS): call it "
                    "from a server. Rate-limited per client address (RATELIMIT_REGISTER).",
                    "parameters": [SLUG, LANG],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _ref("RegistrationRequest"),
                                "example": {
                                    "name": "Hana Sato",
                                    "email": "hana.sato@example.com",
                                    "ticket_type": "general",
                                    "language": "ja",
                                },
                            }
                        },
                    },
                    "responses": {
                        "201": _json("RegistrationResult", "Registered."),
                        "400": _error(
                            "bad_request: the body is not a JSON object (or not JSON, or not "
                            "sent as application/json), or the request holds a NUL byte or a "
                            "lone surrogate."
                        ),
                        "404": NO_EVENT,
                        "409": _error("This e-mail address is already registered."),
                        "410": _error("Registration is closed, or the event is cancelled."),
                        "413": _error("The body is too large."),
                        "422": INVALID,
                        "429": _error("Too many registrations from this address; wait a minute."),
                        "503": _error(
                            "busy: the database was too busy; try again. payment_unavailable: "
                            "the payment page could not be opened (the place held was given "
                            "up; register again later).",
                            RETRY_AFTER,
                        ),
                    },
                }
            },
            "/api/v1/events/{slug}/attendees": {
                "get": {
                    "operationId": "listAttendees",
                    "summary": "The event's registrations, in queue order (organisers only).",
                    "description": "Needs an API token of one of the event's organisers or of "
                    "an admin, made on the profile page. Another organiser's event answers 404, "
                    "as if it did not exist.",
                    "security": [{"bearerAuth": []}],
                    "parameters": [
                        SLUG,
                        LANG,
                        _query(
                            "status",
                            _choice(REGISTRATION_STATUSES),
                            "Only this status.",
                            "confirmed",
                        ),
                        _query(
                            "ticket_type",
                            {
                                "type": "string",
                                "pattern": _or_empty(SLUG_PATTERN),
                                "maxLength": 60,
                            },
                            "Only this ticket type (slug); an unknown one gives an empty list.",
                            "general",
                        ),
                        _query(
                            "q",
                            {"type": "string", "maxLength": MAX_SEARCH, "pattern": LINE_PATTERN},
                            "Part of a name or e-mail (spaces at either end are ignored).",
                            "sato",
                        ),
                    ],
                    "responses": {
                        "200": _json("AttendeeList", "The registrations."),
                        "400": UNREADABLE,
                        "401": _error(
                            "No token, or a token that is unknown or revoked.",
                            {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
                        ),
                        "404": _error("No such event among those this token's owner runs."),
                        "422": INVALID,
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapiDocument",
                    "summary": "This document.",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (ct_…) from the organiser's profile page or "
                    "`flask --app wsgi create-api-token EMAIL`.",
                }
            },
        },
    }
