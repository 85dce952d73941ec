"""Organisers' forms: an event with its ticket types and questions, e-mailing attendees, the
door's check-in, cancelling an event. Registration forms for the public are in forms.py.

The event form turns what a browser sends (local date-times, prices in major units, options one
per line) into the services' EventData; field names match the services' `field=` so that a
DomainError lands on its field. Whether the data breaks a rule of the event is the services'
business, not this module's.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import AnyOf, InputRequired, Length, Optional
from wtforms.widgets import DateTimeLocalInput

from community.core.dates import is_valid_timezone
from community.core.forms import (
    CONTROL_CHARACTERS_MESSAGE,
    CheckedForm,
    NoControlCharacters,
    text_fields,
)
from community.core.money import EXPONENTS, MoneyError, parse_amount, to_major_string
from community.events.models import Event
from community.events.services import (
    EVENT_DATETIME_FIELDS,
    EVENT_FIELDS,
    EventData,
    MessageDraft,
    QuestionData,
    TicketTypeData,
)
from community.payments.forms import RefundAmountForm

TICKET_ROWS = 3
QUESTION_ROWS = 4

KIND_CHOICES = [SelectChoice("event", _l("Event")), SelectChoice("workshop", _l("Workshop"))]
FORMAT_CHOICES = [
    SelectChoice("in_person", _l("In person")),
    SelectChoice("online", _l("Online")),
    SelectChoice("hybrid", _l("Hybrid")),
]
LANGUAGE_CHOICES = [
    SelectChoice("ja", "日本語", render_kw={"lang": "ja"}),
    SelectChoice("en", "English", render_kw={"lang": "en"}),
    SelectChoice("ja_en", "日本語 / English"),
]
QUESTION_KIND_CHOICES = [
    SelectChoice("short_text", _l("Short text")),
    SelectChoice("long_text", _l("Long text")),
    SelectChoice("single_choice", _l("One choice")),
    SelectChoice("multiple_choice", _l("Several choices")),
]
# Browsers send "2026-12-03T19:00" (some with seconds); a browser without the date-time widget
# shows a text box, where people type a space instead of the "T".
_LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
# Dates far outside these are typing mistakes (and year 1 or 9999 overflow in some zones).
MIN_YEAR, MAX_YEAR = 2000, 2200
# "35.65800, 139.70160": what map sites copy for a place, pasted whole into the latitude box.
_COORDINATE_PAIR = re.compile(r"^\s*(-?\d+\.\d+)\s*,\s*(-?\d+\.\d+)\s*$")


class LocalDateTimeField(StringField):
    """A wall-clock date and time, kept as typed; the form converts it in the event's zone."""

    widget = DateTimeLocalInput()


def local_input(moment: datetime | None, timezone: str) -> str:
    """An aware datetime as the value of a datetime-local input in `timezone`."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def to_utc(text: str, timezone: str) -> datetime:
    """Wall-clock `text` in `timezone` as an aware UTC datetime.

    Raises ValueError for text that is not a date-time, and for a time that does not exist in
    that zone (the hour skipped when summer time starts).
    """
    text = (text or "").strip()
    for pattern in _LOCAL_FORMATS:
        try:
            naive = datetime.strptime(text, pattern)
        except ValueError:
            continue
        break
    else:
        raise ValueError("not a date-time")
    if not MIN_YEAR <= naive.year <= MAX_YEAR:
        raise ValueError("out of range")
    zone = ZoneInfo(timezone)
    moment = naive.replace(tzinfo=zone).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError("no such time in this zone")
    return moment


def parse_coordinate(text: str | None) -> float | None:
    """A latitude or longitude in decimal degrees as typed (full-width digits from a Japanese
    input method included); None when empty. Raises ValueError for anything else."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:80].rstrip("-")


def parse_options(text: str) -> list[dict]:
    """Lines of "value|日本語|English", "value|label" or just "label" as the model's options."""
    options = []
    for line in (text or "").splitlines():
        parts = [part.strip() for part in line.split("|")]
        if not any(parts):
            continue
        if len(parts) == 1:
            value = ja = en = parts[0]
        elif len(parts) == 2:
            value, ja = parts
            en = ja
        else:
            value, ja, en = parts[0], parts[1], "|".join(parts[2:])
        options.append({"value": value or ja or en, "ja": ja, "en": en})
    return options


def format_options(options: list[dict]) -> str:
    return "\n".join(
        f"{option.get('value', '')}|{option.get('ja', '')}|{option.get('en', '')}"
        for option in options or []
    )


class _RowMeta:
    """Rows are plain Forms inside the event form: no CSRF of their own, but translated."""

    def get_translations(self, form):
        return wtforms_translations


class TicketTypeRow(Form):
    class Meta(_RowMeta):
        pass

    slug = StringField(_l("Short name"), validators=[Length(max=60)])
    name_ja = StringField(_l("Name (Japanese)"), validators=[Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=120)])
    price = StringField(
        _l("Price"), validators=[Length(max=20)], render_kw={"inputmode": "decimal"}
    )
    currency = SelectField(_l("Currency"), choices=[SelectChoice(code, code) for code in EXPONENTS])
    quota = IntegerField(
        _l("Places of this type"),
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
    )
    members_only = BooleanField(_l("Members only"))
    member_price = StringField(
        _l("Member price"), validators=[Length(max=20)], render_kw={"inputmode": "decimal"}
    )
    sale_starts_at = LocalDateTimeField(_l("Sale starts"))
    sale_ends_at = LocalDateTimeField(_l("Sale ends"))

    def is_empty(self) -> bool:
        typed = (
            self.slug.data,
            self.name_ja.data,
            self.name_en.data,
            self.price.data,
            self.member_price.data,
            self.sale_starts_at.data,
            self.sale_ends_at.data,
        )
        return not any((value or "").strip() for value in typed) and self.quota.raw_data in (
            None,
            [],
            [""],
        )


class QuestionRow(Form):
    class Meta(_RowMeta):
        pass

    kind = SelectField(_l("Kind of answer"), choices=QUESTION_KIND_CHOICES)
    label_ja = StringField(_l("Question (Japanese)"), validators=[Length(max=300)])
    label_en = StringField(_l("Question (English)"), validators=[Length(max=300)])
    required = BooleanField(_l("An answer is required"))
    options = TextAreaField(
        _l("Options, one per line"), validators=[Length(max=5000)], render_kw={"rows": 3}
    )

    def is_empty(self) -> bool:
        return not any(
            (value or "").strip()
            for value in (self.label_ja.data, self.label_en.data, self.options.data)
        )


def _text(label, max_length: int, validators=(), **kwargs):
    return StringField(label, validators=[*validators, Length(max=max_length)], **kwargs)


def _long_text(label, rows: int = 6):
    return TextAreaField(label, validators=[Length(max=50_000)], render_kw={"rows": rows})


def _url(label):
    return URLField(label, validators=[Length(max=500)], render_kw={"inputmode": "url"})


class EventForm(CheckedForm):
    slug = _text(_l("Address of the page"), 80, render_kw={"autocapitalize": "none"})
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    title_ja = _text(_l("Title (Japanese)"), 200, render_kw={"lang": "ja"})
    title_en = _text(_l("Title (English)"), 200, render_kw={"lang": "en"})
    summary_ja = TextAreaField(
        _l("Summary (Japanese)"), validators=[Length(max=500)], render_kw={"rows": 2, "lang": "ja"}
    )
    summary_en = TextAreaField(
        _l("Summary (English)"), validators=[Length(max=500)], render_kw={"rows": 2, "lang": "en"}
    )
    description_ja = _long_text(_l("Description (Japanese, Markdown)"))
    description_en = _long_text(_l("Description (English, Markdown)"))
    prerequisites_ja = _long_text(_l("Before you come (Japanese, workshops)"), rows=3)
    prerequisites_en = _long_text(_l("Before you come (English, workshops)"), rows=3)
    materials_url = _url(_l("Materials link"))
    category = SelectField(_l("Category"), choices=[])
    format = SelectField(_l("Format"), choices=FORMAT_CHOICES)
    venue_name = _text(_l("Venue"), 200)
    venue_address = _text(_l("Venue address"), 300)
    map_url = _url(_l("Map link"))
    latitude = _text(_l("Latitude"), 40, render_kw={"inputmode": "decimal"})
    longitude = _text(_l("Longitude"), 40, render_kw={"inputmode": "decimal"})
    online_url = _url(_l("Online link"))
    timezone = _text(
        _l("Time zone"),
        64,
        validators=[InputRequired(message=_l("Choose a time zone such as Asia/Tokyo."))],
    )
    starts_at = LocalDateTimeField(_l("Starts"))
    ends_at = LocalDateTimeField(_l("Ends"))
    language = SelectField(_l("Language of the event"), choices=LANGUAGE_CHOICES)
    capacity = IntegerField(
        _l("Capacity"),
        validators=[InputRequired(message=_l("Give the number of places."))],
        render_kw={"inputmode": "numeric"},
    )
    registration_opens_at = LocalDateTimeField(_l("Registration opens"))
    registration_closes_at = LocalDateTimeField(_l("Registration closes"))
    cancel_deadline_hours = IntegerField(
        _l("People may cancel until this many hours before the start"),
        validators=[InputRequired(message=_l("Give a number of hours."))],
        render_kw={"inputmode": "numeric"},
    )
    refund_percent = IntegerField(
        _l("Refund (%) for paid tickets cancelled before the deadline"),
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
    )
    cover_image = FileField(
        _l("Cover image"), render_kw={"accept": "image/png,image/jpeg,image/webp"}
    )
    ticket_types = FieldList(FormField(TicketTypeRow), min_entries=TICKET_ROWS)
    questions = FieldList(FormField(QuestionRow), min_entries=QUESTION_ROWS)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice("", _l("No category"))] + [
            SelectChoice(category.slug, category.name) for category in categories
        ]
        # Errors about the whole list of ticket types or questions (from the services).
        self.section_errors: dict[str, list[str]] = {"ticket_types": [], "questions": []}
        self._converted: dict[str, datetime | None] = {}
        self._coordinates: tuple[float | None, float | None] = (None, None)
        # Errors added after WTForms' own validation, which `form.errors` may not show.
        self._late_errors = False

    @classmethod
    def blank(cls, categories=()) -> EventForm:
        """A new event's form: sensible defaults and one free ticket type."""
        config = current_app.config
        form = cls(
            formdata=None,
            categories=categories,
            data={
                "timezone": config["DEFAULT_TIMEZONE"],
                "cancel_deadline_hours": 24,
                "refund_percent": 100,
                "ticket_types": [
                    {
                        "slug": "general",
                        "name_ja": "一般",
                        "name_en": "General admission",
                        "price": "0",
                        "currency": config["DEFAULT_CURRENCY"],
                    }
                ],
            },
        )
        for row in form.ticket_types:
            if not row.currency.data:
                row.currency.data = config["DEFAULT_CURRENCY"]
        return form

    @classmethod
    def for_event(cls, event: Event, categories=()) -> EventForm:
        zone = event.timezone
        plain = [name for name in EVENT_FIELDS if name not in EVENT_DATETIME_FIELDS]
        data = {name: getattr(event, name) for name in ("slug", "capacity", *plain)}
        data["category"] = event.category.slug if event.category else ""
        for name in EVENT_DATETIME_FIELDS:
            data[name] = local_input(getattr(event, name), zone)
        data["ticket_types"] = [
            {
                "slug": ticket.slug,
                "name_ja": ticket.name_ja,
                "name_en": ticket.name_en,
                "price": to_major_string(ticket.price_minor, ticket.currency),
                "currency": ticket.currency,
                "quota": ticket.quota,
                "members_only": ticket.members_only,
                "member_price": (
                    to_major_string(ticket.member_price_minor, ticket.currency)
                    if ticket.member_price_minor is not None
                    else ""
                ),
                "sale_starts_at": local_input(ticket.sale_starts_at, zone),
                "sale_ends_at": local_input(ticket.sale_ends_at, zone),
            }
            for ticket in event.ticket_types
        ]
        data["questions"] = [
            {
                "kind": question.kind,
                "label_ja": question.label_ja,
                "label_en": question.label_en,
                "required": question.required,
                "options": format_options(question.options),
            }
            for question in event.questions
        ]
        form = cls(formdata=None, categories=categories, data=data)
        # One spare row of each, so that an organiser can always add one more.
        while len(form.ticket_types) < max(TICKET_ROWS, len(event.ticket_types) + 1):
            form.ticket_types.append_entry()
        while len(form.questions) < max(QUESTION_ROWS, len(event.questions) + 1):
            form.questions.append_entry()
        for row in form.ticket_types:
            if not row.currency.data:
                row.currency.data = current_app.config["DEFAULT_CURRENCY"]
        return form

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        refusal = str(CONTROL_CHARACTERS_MESSAGE)
        if any(refusal in field.errors for field in text_fields(self)):
            return False  # a field breaking the text rule: nothing below can be trusted
        timezone = (self.timezone.data or "").strip()
        if not self.timezone.errors and not is_valid_timezone(timezone):
            self._late_error(self.timezone, _l("Choose a time zone such as Asia/Tokyo."))
        self._coordinates = self._convert_coordinates()
        if self.timezone.errors:
            return False
        self._converted = {}
        for field, required in (
            (self.starts_at, True),
            (self.ends_at, True),
            (self.registration_opens_at, False),
            (self.registration_closes_at, False),
        ):
            self._converted[field.name] = self._convert(field, timezone, required)
        for row in self.ticket_types:
            if row.is_empty():
                continue
            self._convert(row.sale_starts_at, timezone, False)
            self._convert(row.sale_ends_at, timezone, False)
            self._money(row.price, row.currency.data)
            self._money(row.member_price, row.currency.data)
        return valid and not self._late_errors

    def _late_error(self, field, message) -> None:
        field.errors = [*field.errors, str(message)]
        self._late_errors = True

    def _convert(self, field, timezone: str, required: bool) -> datetime | None:
        text = (field.data or "").strip()
        if not text:
            if required:
                self._late_error(field, _l("Give a date and time."))
            return None
        try:
            return to_utc(text, timezone)
        except ValueError:
            self._late_error(
                field, _l("Give a date and time that exists in the event's time zone.")
            )
            return None

    def _convert_coordinates(self) -> tuple[float | None, float | None]:
        """Numbers only; whether they make a place (both or neither, in range) is the services'
        rule, whose message lands on the field to blame."""
        latitude_text = self.latitude.data or ""
        longitude_text = self.longitude.data or ""
        pair = _COORDINATE_PAIR.match(unicodedata.normalize("NFKC", latitude_text))
        if pair and not longitude_text.strip():
            latitude_text, longitude_text = pair.groups()
            # Shown back as two numbers if anything else on the form is refused.
            self.latitude.data, self.longitude.data = latitude_text, longitude_text
        values = []
        for field, text in ((self.latitude, latitude_text), (self.longitude, longitude_text)):
            try:
                values.append(parse_coordinate(text))
            except ValueError:
                self._late_error(
                    field, _l("Give the position in decimal degrees, such as 35.658 or 139.7016.")
                )
                values.append(None)
        return values[0], values[1]

    def _money(self, field, currency: str) -> None:
        text = (field.data or "").strip()
        if not text:
            return
        try:
            parse_amount(text, currency)
        except MoneyError:
            self._late_error(
                field, _l("Give an amount such as 1500 (or 12.50 in a currency with cents).")
            )

    def event_data(self, slug: str | None = None) -> EventData:
        """The services' view of what was submitted (call after validate())."""
        timezone = self.timezone.data.strip()
        tickets = []
        for row in self.ticket_types:
            if row.is_empty():
                continue
            currency = row.currency.data
            price_text = (row.price.data or "").strip()
            member_text = (row.member_price.data or "").strip()
            tickets.append(
                TicketTypeData(
                    slug=(row.slug.data or "").strip().lower(),
                    name_ja=(row.name_ja.data or "").strip(),
                    name_en=(row.name_en.data or "").strip(),
                    price_minor=parse_amount(price_text, currency) if price_text else 0,
                    currency=currency,
                    quota=row.quota.data,
                    members_only=bool(row.members_only.data),
                    member_price_minor=parse_amount(member_text, currency) if member_text else None,
                    sale_starts_at=_optional_utc(row.sale_starts_at.data, timezone),
                    sale_ends_at=_optional_utc(row.sale_ends_at.data, timezone),
                )
            )
        questions = [
            QuestionData(
                kind=row.kind.data,
                label_ja=(row.label_ja.data or "").strip(),
                label_en=(row.label_en.data or "").strip(),
                required=bool(row.required.data),
                options=parse_options(row.options.data) if row.kind.data.endswith("choice") else [],
            )
            for row in self.questions
            if not row.is_empty()
        ]
        title_en = (self.title_en.data or "").strip()
        return EventData(
            slug=slug or (self.slug.data or "").strip().lower() or slugify(title_en),
            kind=self.kind.data,
            title_ja=(self.title_ja.data or "").strip(),
            title_en=title_en,
            summary_ja=_lines(self.summary_ja.data).strip(),
            summary_en=_lines(self.summary_en.data).strip(),
            description_ja=_lines(self.description_ja.data),
            description_en=_lines(self.description_en.data),
            prerequisites_ja=_lines(self.prerequisites_ja.data),
            prerequisites_en=_lines(self.prerequisites_en.data),
            materials_url=(self.materials_url.data or "").strip(),
            category_slug=self.category.data or None,
            format=self.format.data,
            venue_name=(self.venue_name.data or "").strip(),
            venue_address=(self.venue_address.data or "").strip(),
            map_url=(self.map_url.data or "").strip(),
            online_url=(self.online_url.data or "").strip(),
            latitude=self._coordinates[0],
            longitude=self._coordinates[1],
            starts_at=self._converted["starts_at"],
            ends_at=self._converted["ends_at"],
            timezone=timezone,
            language=self.language.data,
            capacity=self.capacity.data,
            registration_opens_at=self._converted["registration_opens_at"],
            registration_closes_at=self._converted["registration_closes_at"],
            cancel_deadline_hours=self.cancel_deadline_hours.data,
            # Left empty, the policy is a full refund.
            refund_percent=100 if self.refund_percent.data is None else self.refund_percent.data,
            ticket_types=tickets,
            questions=questions,
        )

    def cover_bytes(self, limit: int) -> bytes | None:
        """The uploaded cover image (at most `limit` + 1 bytes, enough to tell it is too big)."""
        upload = self.cover_image.data
        if upload is None or not getattr(upload, "filename", ""):
            return None
        return upload.read(limit + 1)

    def add_error(self, field_name: str | None, message: str) -> None:
        """Put a service's refusal where the person will look for it."""
        if field_name in self.section_errors:
            self.section_errors[field_name].append(message)
            return
        field = getattr(self, field_name or "", None)
        if field is not None and hasattr(field, "errors") and field_name != "meta":
            field.errors = [*field.errors, message]
        else:
            self.form_errors.append(message)

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or self.form_errors
            or self._late_errors
            or any(self.section_errors.values())
        )


def _lines(text: str | None) -> str:
    # Browsers send text areas with CRLF line ends; stored text uses LF whatever the browser.
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _optional_utc(text: str | None, timezone: str) -> datetime | None:
    return to_utc(text, timezone) if (text or "").strip() else None


class OrganisersForm(CheckedForm):
    emails = TextAreaField(
        _l("Organisers' e-mail addresses, one per line"),
        validators=[Length(max=5000)],
        description=_l("Each must be the address of an organiser's account on this site."),
    )

    @classmethod
    def for_event(cls, event: Event) -> OrganisersForm:
        form = cls(formdata=None)
        form.emails.data = "\n".join(person.email for person in event.organisers)
        return form


class RefundForm(RefundAmountForm):
    """A refused amount is flashed (the attendee list is redirected back to, not re-rendered)."""

    cancel = BooleanField(_l("Also cancel the registration"))


class ActionForm(CheckedForm):
    """Only the CSRF token: publish, duplicate, cancel a registration, promote, check in."""


class CancelEventForm(CheckedForm):
    # The view fills in the choices' labels with the amounts; a form without paid tickets loses
    # the field. A value that is not one of the three is refused, nothing cancelled.
    refund = RadioField(
        _l("Money paid for tickets"),
        choices=[
            SelectChoice("full", _l("Refund everyone in full")),
            SelectChoice("policy", _l("Refund as the event's refund policy says")),
            SelectChoice("none", _l("No refund")),
        ],
        default="full",
        validate_choice=False,
        validators=[
            AnyOf(
                ("full", "policy", "none"),
                message=_l("Choose what happens to the money paid for tickets."),
            )
        ],
    )
    message = TextAreaField(
        _l("Message to everyone registered (optional)"),
        validators=[NoControlCharacters(), Length(max=5000)],
        render_kw={"rows": 5},
    )


class EmailAttendeesForm(CheckedForm):
    """A message to attendees in Japanese, in English or both (which versions are complete is
    services.check_message's to say), and on the preview page the key of its one sending."""

    subject_ja = StringField(
        _l("Subject in Japanese"),
        validators=[NoControlCharacters(), Length(max=200)],
        render_kw={"lang": "ja", "maxlength": 200},
    )
    body_ja = TextAreaField(
        _l("Message in Japanese"),
        validators=[NoControlCharacters(), Length(max=20_000)],
        render_kw={"rows": 8, "lang": "ja"},
    )
    subject_en = StringField(
        _l("Subject in English"),
        validators=[NoControlCharacters(), Length(max=200)],
        render_kw={"lang": "en", "maxlength": 200},
    )
    body_en = TextAreaField(
        _l("Message in English"),
        validators=[NoControlCharacters(), Length(max=20_000)],
        render_kw={"rows": 8, "lang": "en"},
    )
    send_key = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.send_key.errors:
            # The key is no field anyone sees: its refusal is said on the whole form.
            self.send_key.errors = []
            self.form_errors.append(
                str(_l("This preview is no longer valid. Preview the message again."))
            )
        return valid

    def draft(self) -> MessageDraft:
        return MessageDraft(
            subject_ja=self.subject_ja.data or "",
            body_ja=_lines(self.body_ja.data),
            subject_en=self.subject_en.data or "",
            body_en=_lines(self.body_en.data),
        )

    def add_error(self, field_name: str | None, message: str) -> None:
        """A refusal by the services, on its field or, without one, on the whole form."""
        field = self._fields.get(field_name or "")
        if field is None or field_name == "send_key":
            self.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


class CheckInForm(FlaskForm):
    # Not a CheckedForm: a scanned code is only looked up (its control characters dropped by
    # clean_search), never stored or sent, and junk in it is simply "no such ticket".
    code = HiddenField()
    q = HiddenField()
