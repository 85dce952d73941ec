"""The API's schemas: pydantic models for what comes in (query strings, the registration body) and
what goes out (events, registrations, attendees, the one error shape). They validate the requests
and the answers (through spectree, in openapi.py) and the OpenAPI document is generated from them,
so the document says what the code does by construction.

Input is checked strictly (an unknown filter value is a 422 naming the parameter, unlike the HTML
pages, which ignore it) and every problem found is reported at once, field by field, each with a
message a person can read (`Problem` below, or the one a validator raises). Rules about events and
registrations themselves stay in the services; this module only knows shapes. Nothing here touches
the database, except through the objects the views pass in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from pydantic import (
    AnyUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from community.core.dates import zone
from community.core.errors import DomainError
from community.core.i18n import localized
from community.core.pagination import MAX_PAGE
from community.core.text import (
    EVENT_SLUG_MAX,
    NAME_MAX,
    SEARCH_MAX,
    SHORT_SLUG_MAX,
    VOUCHER_MAX,
    is_clean_text,
    is_single_line,
    normalise_email,
    search_term,
)
from community.events.models import (
    EVENT_LANGUAGES,
    FORMATS,
    KINDS,
    QUESTION_KINDS,
    REGISTRATION_STATUSES,
)
from community.events.models import Event as EventRecord
from community.events.models import Registration as RegistrationRecord
from community.events.services import AttendeeFilters, EventFilters

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "en"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
NUMBER_RE = re.compile(r"^[0-9]{1,9}$")

# core.text's rules (is_single_line, is_clean_text) as JSON Schema patterns, for the document;
# the validators below apply core.text itself, and a test checks the two agree character by
# character. pydantic matches patterns with Rust's regex crate, whose `$` is the end of the text
# (in Python's re it also matches before a final "\n"); the document's dialect (ECMA-262) reads
# them the same way. Lone surrogates are missing: a request holding one never reaches a view.
#
# What str.strip() removes and a line may hold: a name is 1 to 120 characters once these are
# taken off both ends.
_SPACES = r"\x20\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
_LINE_BREAKERS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_TEXT_BREAKERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029"
NAME_PATTERN = (
    f"^[{_SPACES}]*[^{_LINE_BREAKERS}{_SPACES}]"
    f"(?:[^{_LINE_BREAKERS}]{{0,{NAME_MAX - 2}}}[^{_LINE_BREAKERS}{_SPACES}])?[{_SPACES}]*$"
)
LINE_PATTERN = f"^[^{_LINE_BREAKERS}]*$"
TEXT_PATTERN = f"^[^{_TEXT_BREAKERS}]*$"
# e-mail addresses are checked with email-validator (normalise_email), which refuses the
# special-use domains: the document says so with a pattern (Rust's regex has no look-ahead, so
# this one is published, not matched; email-validator is the rule).
EMAIL_PATTERN = (
    "^(?!.*[.@](?:"
    + "|".join("".join(f"[{c.upper()}{c}]" for c in name) for name in SPECIAL_USE_DOMAIN_NAMES)
    + ")\\.?$)"
)


def _or_empty(pattern: str) -> str:
    """`pattern`, or nothing at all: the query string's empty value, which means "not given"."""
    return f"^(?:{pattern.removeprefix('^').removesuffix('$')})?$"


# --- errors --------------------------------------------------------------------------------------


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

    @classmethod
    def from_validation(cls, error: ValidationError) -> ApiError:
        return cls.invalid(problems(error))

    def as_json(self) -> dict:
        """The body; lazy messages are rendered now, in the locale in force."""
        error: dict = {"code": self.code, "message": str(self.message)}
        if self.fields:
            error["fields"] = {name: str(message) for name, message in self.fields.items()}
        return {"error": error}


@dataclass(frozen=True)
class Problem:
    """What a person is told when a field is refused, unless its validator says something more
    precise (`refuse(message)`)."""

    message: str | LazyString


REFUSED = "refused"


def refuse(message: str | LazyString | None = None):
    """Refuse the value being validated, with `message` or else the field's `Problem`."""
    raise PydanticCustomError(REFUSED, "{message}", {"message": message or ""})


def problems(error: ValidationError) -> dict[str, str | LazyString]:
    """The fields a ValidationError of one of the input models blames, each with its message.

    A field is named as sent (`from`, not `from_`); an answer as `answers.<question id>`, and a
    key that names no question as `answers`.
    """
    model = INPUT_MODELS[error.title]
    found: dict[str, str | LazyString] = {}
    bad_keys = set()
    for line in error.errors(include_url=False):
        loc = line["loc"]
        name = str(loc[0]) if loc else ""
        if len(loc) > 2 and loc[2] == "[key]":
            bad_keys.add(loc[1])
        elif len(loc) > 1:
            if loc[1] in bad_keys:
                continue  # a question that does not exist: its answer is not looked at
            name = f"{name}.{loc[1]}"[:80]
        message = (line.get("ctx") or {}).get("message") if line["type"] == REFUSED else None
        found.setdefault(name, message or _problem(model, str(loc[0]) if loc else ""))
    return found


def _problem(model: type[BaseModel], name: str) -> str | LazyString:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            for item in info.metadata:
                if isinstance(item, Problem):
                    return item.message
    return _l("Please correct the fields named.")


# --- values --------------------------------------------------------------------------------------

Slug = Annotated[str, Field(pattern=SLUG_RE.pattern, max_length=EVENT_SLUG_MAX)]
_slugs = TypeAdapter(Slug)


def is_slug(value: str) -> bool:
    try:
        _slugs.validate_python(value)
    except ValidationError:
        return False
    return True


def _choice(values: tuple[str, ...]) -> Any:
    """One of `values`, or empty (the same as leaving the parameter out, as a form would send)."""
    return Literal[(*values, "")]


def _whole_number(value):
    if not (isinstance(value, str) and NUMBER_RE.fullmatch(value)):
        refuse()
    return int(value)


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def _moment(value, *, end: bool) -> datetime:
    """An RFC 3339 date or date-time (ISO 8601) as an aware UTC datetime.

    A date means the whole day in DEFAULT_TIMEZONE: `from` is its start, `to` the start of the
    next day, so that `to=2026-05-31` includes events on the 31st. A date-time without an offset
    is read in DEFAULT_TIMEZONE too. Any valid date is accepted, down to 0001-01-01 and up to
    9999-12-31: where UTC would leave the calendar, the bound is the calendar's end.
    """
    if not isinstance(value, str):
        refuse()
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
        refuse()
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == 1 else LATEST


PERIOD = (
    "An RFC 3339 (ISO 8601) date (2026-05-31: the whole day in DEFAULT_TIMEZONE) or date-time "
    "(2026-05-31T18:30:00+09:00). For people typing them, the seconds and the offset may also "
    "be left out (2026-05-31T18:30: DEFAULT_TIMEZONE). Empty: not given."
)
# What _moment accepts, as the document can say it: a date, a date-time, or nothing.
_MOMENT = WithJsonSchema(
    {"type": "string", "anyOf": [{"maxLength": 0}, {"format": "date"}, {"format": "date-time"}]}
)
_PERIOD_PROBLEM = Problem(
    _l("Give a date (2026-05-31) or a date and time (2026-05-31T18:30+09:00).")
)
Start = Annotated[
    datetime | None,
    BeforeValidator(lambda value: _moment(value, end=False)),
    _MOMENT,
    _PERIOD_PROBLEM,
]
End = Annotated[
    datetime | None,
    BeforeValidator(lambda value: _moment(value, end=True)),
    _MOMENT,
    _PERIOD_PROBLEM,
]
_LANG_PROBLEM = Problem(_l("Choose ja or en."))
Lang = Annotated[_choice(LANGUAGES), _LANG_PROBLEM]


def _choices_problem(values: tuple[str, ...]) -> Problem:
    return Problem(_l("Choose one of: %(choices)s.", choices=", ".join(values)))


def _number_problem(low: int, high: int) -> Problem:
    return Problem(_l("Give a whole number from %(low)d to %(high)d.", low=low, high=high))


def _not_given() -> None:
    return None


# --- query strings -------------------------------------------------------------------------------


class Query(BaseModel):
    """A query string. Values are taken exactly as sent (` en` is not `en`, as the document's
    enums and patterns say) and an empty one counts as absent, as an empty form field would;
    a repeated parameter counts once, by its first value. Unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_not_given(cls, data):
        if not isinstance(data, dict):
            return data
        given = {}
        for name, value in data.items():
            first = value[0] if isinstance(value, list) and value else value
            if first not in ("", None, []):
                given[name] = first
        return given


_LANG_DESCRIPTION = "Language of titles, summaries, names and error messages; empty or absent: en."


class LanguageQuery(Query):
    lang: Lang = Field("en", description=_LANG_DESCRIPTION, examples=["ja"])

    @property
    def language(self) -> str:
        return self.lang or DEFAULT_LANGUAGE

    @property
    def explicit_language(self) -> str | None:
        return self.lang or None


class EventQuery(LanguageQuery):
    kind: Annotated[_choice(KINDS), _choices_problem(KINDS)] = Field(
        "", description="Event or workshop.", examples=["workshop"]
    )
    category: Annotated[
        str,
        Field(pattern=_or_empty(CATEGORY_RE.pattern), max_length=SHORT_SLUG_MAX),
        Problem(_l("Give a category's short name, such as career.")),
    ] = Field(
        "",
        description="A category's slug; an unknown one gives an empty list.",
        examples=["career"],
    )
    format: Annotated[_choice(FORMATS), _choices_problem(FORMATS)] = Field(
        "", description="Format.", examples=["online"]
    )
    language_: Annotated[_choice(EVENT_LANGUAGES), _choices_problem(EVENT_LANGUAGES)] = Field(
        "",
        alias="language",
        description="The event's language; bilingual (ja_en) events match ja and en.",
        examples=["en"],
    )
    from_: Start = Field(
        default_factory=_not_given,
        alias="from",
        description="Events starting then or later. " + PERIOD,
        examples=["2026-05-01"],
    )
    # A period that ends before it starts is valid input that holds no events.
    to: End = Field(
        default_factory=_not_given,
        description="Events starting before then (a date: before the next day). "
        + PERIOD
        + " A period ending before it starts holds no events.",
        examples=["2026-05-31T18:30:00+09:00"],
    )
    page: Annotated[
        int,
        Field(ge=1, le=MAX_PAGE),
        BeforeValidator(_whole_number),
        _number_problem(1, MAX_PAGE),
    ] = Field(1, description="Page number (empty: 1).", examples=[2])
    per_page: Annotated[
        int,
        Field(ge=1, le=MAX_PER_PAGE),
        BeforeValidator(_whole_number),
        _number_problem(1, MAX_PER_PAGE),
    ] = Field(DEFAULT_PER_PAGE, description="Events per page (empty: 20).", examples=[50])

    @property
    def filters(self) -> EventFilters:
        return EventFilters(
            kind=self.kind or None,
            category=self.category or None,
            format=self.format or None,
            language=self.language_ or None,
            starts_from=self.from_,
            starts_before=self.to,
        )


def _search(value):
    if not isinstance(value, str) or not is_single_line(value):
        refuse()
    return value


class AttendeeQuery(LanguageQuery):
    status: Annotated[_choice(REGISTRATION_STATUSES), _choices_problem(REGISTRATION_STATUSES)] = (
        Field("", description="Only this status.", examples=["confirmed"])
    )
    ticket_type: Annotated[
        str,
        Field(pattern=_or_empty(SLUG_RE.pattern), max_length=SHORT_SLUG_MAX),
        Problem(_l("There is no such ticket type.")),
    ] = Field(
        "",
        description="Only this ticket type (slug); an unknown one gives an empty list.",
        examples=["general"],
    )
    q: Annotated[
        str,
        Field(max_length=SEARCH_MAX, pattern=LINE_PATTERN),
        BeforeValidator(_search),
        Problem(_l("Search for at most 100 characters of a name or an e-mail address.")),
    ] = Field(
        "",
        description="Part of a name or e-mail (spaces at either end are ignored).",
        examples=["sato"],
    )

    @property
    def filters(self) -> AttendeeFilters:
        return AttendeeFilters(
            search=search_term(self.q),
            status=self.status or None,
            ticket_type=self.ticket_type or None,
        )


def requested_language(args) -> str:
    """The language asked for with ?lang, for the answer's texts; English when absent or unknown.
    For answers that no view's validation reached (a routing error, a crash)."""
    value = args.get("lang")
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


# --- the registration body -----------------------------------------------------------------------


def _name(value):
    if not isinstance(value, str) or not value.strip():
        refuse(_l("Enter your name."))
    if len(value.strip()) > NAME_MAX:
        refuse(_l("Keep the name under 120 characters."))
    if not is_single_line(value):
        refuse(_l("Remove the control characters from the name."))
    return value


def _email(value):
    if not isinstance(value, str) or not is_single_line(value):
        refuse(_l("Enter a valid e-mail address."))
    try:
        normalise_email(value)
    except DomainError as error:
        refuse(error.message)
    return value


def _question_id(value):
    if not (isinstance(value, str) and NUMBER_RE.fullmatch(value)):
        refuse(_l("There is no such question."))
    return value


def _answer(value):
    values = value if isinstance(value, list) else [value]
    if not all(item is None or isinstance(item, str) for item in values):
        refuse(_l("Give the answer as a text or a list of texts."))
    if not all(is_clean_text(item) for item in values if item):
        refuse(_l("Remove the control characters from the answer."))
    return value


def _question_ids_only(schema: dict) -> None:
    """pydantic describes a dict's constrained keys with patternProperties, which lets any other
    key through; the code refuses them: say so."""
    for branch in schema.get("anyOf", [schema]):
        patterns = branch.pop("patternProperties", None)
        if patterns:
            [(pattern, value_schema)] = patterns.items()
            branch["propertyNames"] = {"pattern": pattern}
            branch["additionalProperties"] = value_schema


Text = Annotated[str, Field(pattern=TEXT_PATTERN)]
Answer = Annotated[Text | list[Text | None] | None, BeforeValidator(_answer)]
QuestionId = Annotated[str, Field(pattern=NUMBER_RE.pattern), BeforeValidator(_question_id)]


class RegistrationRequest(BaseModel):
    """`voucher` is a code that a domain above events gives a meaning (events/offers.py): it
    may lower the price or give a place outside the ticket's quota; a code nobody knows is a 422
    on `voucher`. Unknown properties are ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "name": "Hana Sato",
                    "email": "hana.sato@example.com",
                    "ticket_type": "general",
                    "language": "ja",
                }
            ]
        },
    )

    name: Annotated[
        str,
        Field(min_length=1, pattern=NAME_PATTERN),
        BeforeValidator(_name),
        Problem(_l("Enter your name.")),
    ] = Field(
        description="1 to 120 characters once spaces at either end are removed (the name is "
        "kept without them); no control characters, line or paragraph separators."
    )
    email: Annotated[
        str,
        Field(json_schema_extra={"format": "email", "pattern": EMAIL_PATTERN}),
        BeforeValidator(_email),
        Problem(_l("Enter a valid e-mail address.")),
    ] = Field(description="Not at a special-use domain (RFC 6761: .test, .local, …).")
    ticket_type: Annotated[
        Annotated[str, Field(pattern=_or_empty(SLUG_RE.pattern), max_length=SHORT_SLUG_MAX)] | None,
        Problem(_l("There is no such ticket type.")),
    ] = Field(None, description="A ticket type's slug; may be left out when one type is on sale.")
    answers: Annotated[
        dict[QuestionId, Answer] | None,
        Problem(_l("Give the answers as an object keyed by question id.")),
    ] = Field(
        None,
        description="Question id → the answer: a text, or a list of option values for multiple "
        "choice. No control characters other than tabs and line breaks.",
        json_schema_extra=_question_ids_only,
    )
    voucher: Annotated[
        Annotated[str, Field(max_length=VOUCHER_MAX)] | None,
        Problem(_l("Give the voucher code as a text.")),
    ] = Field(
        None,
        description="A voucher code (a partner's free seat, a discount); unknown codes are "
        "refused with a 422 on `voucher`.",
    )
    language: Annotated[Literal[LANGUAGES] | None, _LANG_PROBLEM] = Field(
        None, description="The registrant's language for e-mails; default ?lang, else en."
    )


INPUT_MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (LanguageQuery, EventQuery, AttendeeQuery, RegistrationRequest)
}


# --- output --------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(
        description="Machine-readable: invalid, not_found, conflict, registration_closed, busy, "
        "payment_unavailable, unauthorized, bad_request, or the HTTP status for routing errors "
        "(e.g. 404, 405, 413, 429, 500)."
    )
    message: str = Field(description="For people, in the language of ?lang (English by default).")
    fields: dict[str, str] | None = Field(
        None,
        description="Input at fault → what is wrong with it. Answers to questions are named "
        "answers.<question id>.",
    )


class Error(BaseModel):
    error: ErrorDetail


Count = Annotated[int, Field(ge=0)]


class TicketType(BaseModel):
    slug: str
    name: str
    price_minor: Count = Field(
        description="In the currency's minor unit (JPY has none: 5000 is ¥5,000). 0 is free."
    )
    currency: Annotated[str, Field(pattern="^[A-Z]{3}$")]
    members_only: bool
    places_left: Count


class Event(BaseModel):
    slug: Slug
    title: str = Field(description="In ?lang, or the other language.")
    summary: str
    kind: Literal[KINDS]
    category: str | None = Field(description="The category's slug.")
    format: Literal[FORMATS]
    language: Literal[EVENT_LANGUAGES]
    starts_at: datetime = Field(description="ISO 8601 with the offset of the event's time zone.")
    ends_at: datetime
    timezone: str = Field(description="IANA name, e.g. Asia/Tokyo.")
    capacity: Count
    places_left: Count
    status: Literal["published", "cancelled"]
    url: AnyUrl
    ics_url: AnyUrl
    ticket_types: list[TicketType]


class QuestionOption(BaseModel):
    value: str
    label: str


class Question(BaseModel):
    id: int
    kind: Literal[QUESTION_KINDS]
    label: str
    required: bool
    options: list[QuestionOption]


class EventDetail(Event):
    """One event, with the questions a registration answers."""

    questions: list[Question]


class EventPage(BaseModel):
    events: list[Event]
    page: Annotated[int, Field(ge=1)]
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)]
    next: AnyUrl | None = Field(description="The next page, absolute; null on the last page.")


class RegistrationResult(BaseModel):
    id: int
    status: Literal["confirmed", "waitlisted", "awaiting_payment"]
    checkout_url: AnyUrl | None = Field(
        None,
        description="Where to pay (Stripe Checkout, or the sandbox's test page), present when "
        "status is awaiting_payment.",
    )


class Attendee(BaseModel):
    id: int
    name: str
    email: str
    status: Literal[REGISTRATION_STATUSES]
    ticket_type: str = Field(description="The ticket type's slug.")
    created_at: datetime
    checked_in_at: datetime | None


class AttendeeList(BaseModel):
    event: str = Field(description="The event's slug.")
    attendees: list[Attendee]


class Sponsor(BaseModel):
    name: str = Field(description="The company's name, in ?lang or the other language.")
    logo_url: AnyUrl | None = Field(description="Absolute; null when the company has no logo.")
    website: str = Field(description="The company's site, as it gave it; may be empty.")


class SponsorTier(BaseModel):
    slug: str
    name: str = Field(description="In ?lang, or the other language.")
    logo_size: Literal["large", "medium", "small"]
    sponsors: list[Sponsor]


class SponsorList(BaseModel):
    """Active partners grouped by tier, in tier order."""

    tiers: list[SponsorTier]


class Document(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""


def _local(moment: datetime | None, event: EventRecord) -> str | None:
    """ISO 8601 in the event's own zone, so that the offset tells the reader the local time."""
    if moment is None:
        return None
    return moment.astimezone(zone(event.timezone)).isoformat()


def event_urls(event: EventRecord) -> tuple[str, str]:
    base = current_app.config["BASE_URL"]
    path = f"/events/{quote(event.slug)}"
    return base + path, f"{base}{path}.ics"


def event_json(event: EventRecord, language: str) -> dict:
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


def event_detail_json(event: EventRecord, language: str) -> dict:
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


def registration_result_json(
    registration: RegistrationRecord, checkout_url: str | None = None
) -> dict:
    result = {"id": registration.id, "status": registration.status}
    if checkout_url:
        result["checkout_url"] = checkout_url  # where an awaiting_payment person pays
    return result


def attendee_json(registration: RegistrationRecord, event: EventRecord) -> dict:
    return {
        "id": registration.id,
        "name": registration.name,
        "email": registration.email,
        "status": registration.status,
        "ticket_type": registration.ticket_type.slug,
        "created_at": _local(registration.created_at, event),
        "checked_in_at": _local(registration.checked_in_at, event),
    }
