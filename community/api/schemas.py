"""The API's input and output: query strings and JSON bodies parsed into what the services take,
events and registrations turned into JSON, and the one error shape.

Input is checked strictly (an unknown filter value is a 422 naming the parameter, unlike the HTML
pages, which ignore it) and every problem found is reported at once, field by field. Rules about
events and registrations themselves stay in the services; this module only knows shapes. Nothing
here touches the database, except through the objects the views pass in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from community.accounts.services import normalise_email
from community.core.dates import zone
from community.core.errors import DomainError
from community.core.i18n import localized
from community.core.pagination import MAX_PAGE
from community.core.text import LINE_BREAKERS, TEXT_BREAKERS
from community.events.models import (
    EVENT_LANGUAGES,
    FORMATS,
    KINDS,
    REGISTRATION_STATUSES,
    Event,
    Registration,
)
from community.events.services import AttendeeFilters, EventFilters

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "en"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
NUMBER_RE = re.compile(r"^[0-9]{1,9}$")
# PostgreSQL refuses NUL in text, and no name or answer needs the other control characters (nor
# U+2028, which breaks e-mail headers): core.text's one rule refuses them here, with a message.
LINE_CONTROLS = LINE_BREAKERS
TEXT_CONTROLS = TEXT_BREAKERS

# The document (openapi.py) publishes these as JSON Schema patterns; each says exactly what the
# code below accepts, in a dialect (ECMA-262) that reads them as Python does. The three regular
# expressions above are matched whole (fullmatch): in Python, `$` also matches before a final "\n".
#
# What str.strip() removes and LINE_BREAKERS does not refuse: a name is 1 to 120 characters once
# these are taken off both ends.
_SPACES = r"\x20\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
_LINE_BREAKERS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_TEXT_BREAKERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029"
NAME_PATTERN = (
    f"^[{_SPACES}]*[^{_LINE_BREAKERS}{_SPACES}]"
    f"(?:[^{_LINE_BREAKERS}]{{0,118}}[^{_LINE_BREAKERS}{_SPACES}])?[{_SPACES}]*$"
)
LINE_PATTERN = f"^[^{_LINE_BREAKERS}]*$"
TEXT_PATTERN = f"^[^{_TEXT_BREAKERS}]*$"
MAX_SEARCH = 100


class ApiError(Exception):
    """An answer other than success: HTTP status, machine code, message, and the fields to blame."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str | LazyString,
        fields: dict[str, str | LazyString] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}

    @classmethod
    def from_domain(cls, error: DomainError) -> ApiError:
        fields = {error.field: error.message} if error.field else None
        headers = {"Retry-After": "5"} if error.http_status == 503 else None
        return cls(error.http_status, error.code, error.message, fields, headers)

    @classmethod
    def invalid(cls, fields: dict[str, str | LazyString]) -> ApiError:
        return cls(422, "invalid", _l("Please correct the fields named."), fields)

    def as_json(self) -> dict:
        """The body; lazy messages are rendered now, in the locale in force."""
        error: dict = {"code": self.code, "message": str(self.message)}
        if self.fields:
            error["fields"] = {name: str(message) for name, message in self.fields.items()}
        return {"error": error}


def is_slug(value: str) -> bool:
    return len(value) <= 80 and SLUG_RE.fullmatch(value) is not None


def _arg(args, name: str) -> str | None:
    """A query parameter as sent; an empty one counts as absent, as an empty form field would.

    Values are not trimmed: ` en` is not `en`, exactly as the document's enums and patterns say.
    """
    return args.get(name) or None


# --- query strings -------------------------------------------------------------------------------


def requested_language(args) -> str:
    """The language asked for with ?lang, for the answer's texts; English when absent or unknown."""
    value = _arg(args, "lang")
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def _check_language(args, problems: dict) -> str:
    value = _arg(args, "lang")
    if value is not None and value not in LANGUAGES:
        problems["lang"] = _l("Choose ja or en.")
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def _choice(args, name: str, allowed: tuple[str, ...], problems: dict) -> str | None:
    value = _arg(args, name)
    if value is not None and value not in allowed:
        problems[name] = _l("Choose one of: %(choices)s.", choices=", ".join(allowed))
        return None
    return value


def _number(args, name: str, default: int, low: int, high: int, problems: dict) -> int:
    value = _arg(args, name)
    if value is None:
        return default
    if not NUMBER_RE.fullmatch(value) or not low <= int(value) <= high:
        problems[name] = _l("Give a whole number from %(low)d to %(high)d.", low=low, high=high)
        return default
    return int(value)


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def _moment(args, name: str, problems: dict, *, end: bool) -> datetime | None:
    """An RFC 3339 date or date-time (ISO 8601) as an aware UTC datetime.

    A date means the whole day in DEFAULT_TIMEZONE: `from` is its start, `to` the start of the
    next day, so that `to=2026-05-31` includes events on the 31st. A date-time without an offset
    is read in DEFAULT_TIMEZONE too. Any valid date is accepted, down to 0001-01-01 and up to
    9999-12-31: where UTC would leave the calendar, the bound is the calendar's end.
    """
    value = _arg(args, name)
    if value is None:
        return None
    value = value.upper()  # RFC 3339 allows "t" and "z"; Python's parser wants them upper-case
    try:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone())
        else:
            if end:
                if day == date.max:
                    return LATEST
                day += timedelta(days=1)
            moment = datetime.combine(day, time(0), tzinfo=zone())
    except ValueError:
        problems[name] = _l("Give a date (2026-05-31) or a date and time (2026-05-31T18:30+09:00).")
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == 1 else LATEST


@dataclass(frozen=True)
class EventQuery:
    filters: EventFilters
    page: int
    per_page: int
    language: str


def parse_event_query(args) -> EventQuery:
    """The list's filters, page and language; raises ApiError (422) naming every bad parameter."""
    problems: dict = {}
    language = _check_language(args, problems)
    kind = _choice(args, "kind", KINDS, problems)
    event_format = _choice(args, "format", FORMATS, problems)
    event_language = _choice(args, "language", EVENT_LANGUAGES, problems)
    category = _arg(args, "category")
    if category is not None and (len(category) > 60 or not CATEGORY_RE.fullmatch(category)):
        problems["category"] = _l("Give a category's short name, such as career.")
        category = None
    starts_from = _moment(args, "from", problems, end=False)
    # A period that ends before it starts is valid input that holds no events.
    starts_before = _moment(args, "to", problems, end=True)
    page = _number(args, "page", 1, 1, MAX_PAGE, problems)
    per_page = _number(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, problems)
    if problems:
        raise ApiError.invalid(problems)
    filters = EventFilters(
        kind=kind,
        category=category,
        format=event_format,
        language=event_language,
        starts_from=starts_from,
        starts_before=starts_before,
    )
    return EventQuery(filters, page, per_page, language)


def parse_language_only(args) -> str:
    return explicit_language(args) or DEFAULT_LANGUAGE


def explicit_language(args) -> str | None:
    """?lang when given (422 when it is neither ja nor en), else None."""
    problems: dict = {}
    _check_language(args, problems)
    if problems:
        raise ApiError.invalid(problems)
    return _arg(args, "lang")


def parse_attendee_query(args) -> AttendeeFilters:
    problems: dict = {}
    _check_language(args, problems)
    status = _choice(args, "status", REGISTRATION_STATUSES, problems)
    ticket_type = _arg(args, "ticket_type")
    if ticket_type is not None and not (len(ticket_type) <= 60 and SLUG_RE.fullmatch(ticket_type)):
        problems["ticket_type"] = _l("There is no such ticket type.")
        ticket_type = None
    search = _arg(args, "q") or ""
    if len(search) > MAX_SEARCH or LINE_CONTROLS.search(search):
        problems["q"] = _l("Search for at most 100 characters of a name or an e-mail address.")
    if problems:
        raise ApiError.invalid(problems)
    return AttendeeFilters(search=search.strip(), status=status, ticket_type=ticket_type)


# --- the registration body -----------------------------------------------------------------------


@dataclass
class RegistrationInput:
    name: str
    email: str
    ticket_type: str | None = None
    answers: dict = field(default_factory=dict)
    language: str = DEFAULT_LANGUAGE


def _check_answers(raw, problems: dict) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems["answers"] = _l("Give the answers as an object keyed by question id.")
        return {}
    answers = {}
    for key, value in raw.items():
        name = f"answers.{key}"[:80]
        if not NUMBER_RE.fullmatch(key):
            problems["answers"] = _l("There is no such question.")
            continue
        values = value if isinstance(value, list) else [value]
        if not all(item is None or isinstance(item, str) for item in values):
            problems[name] = _l("Give the answer as a text or a list of texts.")
            continue
        if any(item and TEXT_CONTROLS.search(item) for item in values):
            problems[name] = _l("Remove the control characters from the answer.")
            continue
        answers[key] = value
    return answers


def parse_registration(body, query_language: str | None) -> RegistrationInput:
    """The JSON body of a registration; raises ApiError (400 or 422) naming every bad field.

    `voucher` is reserved for the sponsorship vouchers: accepted when it is a string, not used yet.
    """
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", _l("Send a JSON object with name and email."))
    problems: dict = {}

    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        problems["name"] = _l("Enter your name.")
    elif len(name.strip()) > 120:
        problems["name"] = _l("Keep the name under 120 characters.")
    elif LINE_CONTROLS.search(name):
        problems["name"] = _l("Remove the control characters from the name.")

    email = body.get("email")
    if not isinstance(email, str) or LINE_CONTROLS.search(email):
        problems["email"] = _l("Enter a valid e-mail address.")
    else:
        try:
            normalise_email(email)
        except DomainError as error:
            problems["email"] = error.message

    ticket_type = body.get("ticket_type")
    if ticket_type is not None and not (
        isinstance(ticket_type, str)
        and (not ticket_type or (len(ticket_type) <= 60 and SLUG_RE.fullmatch(ticket_type)))
    ):
        problems["ticket_type"] = _l("There is no such ticket type.")

    answers = _check_answers(body.get("answers"), problems)

    voucher = body.get("voucher")
    if voucher is not None and not (isinstance(voucher, str) and len(voucher) <= 100):
        problems["voucher"] = _l("Give the voucher code as a text.")

    language = body.get("language")
    if language is not None and language not in LANGUAGES:
        problems["language"] = _l("Choose ja or en.")

    if problems:
        raise ApiError.invalid(problems)
    return RegistrationInput(
        name=name,
        email=email,
        ticket_type=ticket_type or None,
        answers=answers,
        language=language or query_language or DEFAULT_LANGUAGE,
    )


# --- output --------------------------------------------------------------------------------------


def _local(moment: datetime | None, event: Event) -> str | None:
    """ISO 8601 in the event's own zone, so that the offset tells the reader the local time."""
    if moment is None:
        return None
    return moment.astimezone(zone(event.timezone)).isoformat()


def event_urls(event: Event) -> tuple[str, str]:
    base = current_app.config["BASE_URL"]
    path = f"/events/{quote(event.slug)}"
    return base + path, f"{base}{path}.ics"


def event_json(event: Event, language: str) -> dict:
    """An event as the list shows it. Touches only columns, the joined category and the ticket
    types loaded with the event: no query per event."""
    url, ics_url = event_urls(event)
    return {
        "slug": event.slug,
        "title": localized(event, "title", language),
        "summary": localized(event, "summary", language),
        "kind": event.kind,
        "category": event.category.slug if event.category is not None else None,
        "format": event.format,
        "language": event.language,
        "starts_at": _local(event.starts_at, event),
        "ends_at": _local(event.ends_at, event),
        "timezone": event.timezone,
        "capacity": event.capacity,
        "places_left": event.places_left,
        "status": event.status,
        "url": url,
        "ics_url": ics_url,
        "ticket_types": [
            {
                "slug": ticket.slug,
                "name": localized(ticket, "name", language),
                "price_minor": ticket.price_minor,
                "currency": ticket.currency,
                "members_only": ticket.members_only,
                "places_left": ticket.places_left(event),
            }
            for ticket in event.ticket_types
        ],
    }


def event_detail_json(event: Event, language: str) -> dict:
    """One event: the list's fields plus the questions a registration answers."""
    data = event_json(event, language)
    data["questions"] = [
        {
            "id": question.id,
            "kind": question.kind,
            "label": localized(question, "label", language),
            "required": question.required,
            "options": [
                {"value": value, "label": question.option_label(value, language)}
                for value in question.option_values()
            ],
        }
        for question in event.questions
    ]
    return data


def registration_result_json(registration: Registration, checkout_url: str | None = None) -> dict:
    result = {"id": registration.id, "status": registration.status}
    if checkout_url:
        result["checkout_url"] = checkout_url  # where an awaiting_payment person pays
    return result


def attendee_json(registration: Registration, event: Event) -> dict:
    return {
        "id": registration.id,
        "name": registration.name,
        "email": registration.email,
        "status": registration.status,
        "ticket_type": registration.ticket_type.slug,
        "created_at": _local(registration.created_at, event),
        "checked_in_at": _local(registration.checked_in_at, event),
    }
