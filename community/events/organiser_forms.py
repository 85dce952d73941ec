"""Organisers' forms: an event with its ticket types and questions, e-mailing attendees, the
door's check-in, cancelling an event. Registration forms for the public are in forms.py.

The event form turns what a browser sends (local date-times read in the event's zone, prices in
major units, options one per line) into the services' EventData; each field reads its own input
(core.forms' MoneyField and ZonedDateTimeField, the coordinates' field here) and says what is
wrong with it. Field names match the services' `field=` so that a DomainError lands on its field.
Whether the data breaks a rule of the event is the services' business, not this module's.
"""

from __future__ import annotations

import math
import re

from flask import current_app
from flask_babel import lazy_gettext as _l
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
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError

from community.core.forms import (
    TIME_ZONE_MESSAGE,
    CheckedForm,
    KnownTimeZone,
    MoneyField,
    NoControlCharacters,
    TypedField,
    ZonedDateTimeField,
)
from community.core.money import EXPONENTS
from community.core.text import (
    ADDRESS_MAX,
    COORDINATE_MAX,
    EVENT_SLUG_MAX,
    LONG_TEXT_MAX,
    MESSAGE_MAX,
    NAME_MAX,
    NOTE_MAX,
    OPTIONS_MAX,
    PRICE_TEXT_MAX,
    QUESTION_MAX,
    SHORT_SLUG_MAX,
    SUBJECT_MAX,
    SUMMARY_MAX,
    TIME_ZONE_MAX,
    TITLE_MAX,
    URL_MAX,
    VENUE_NAME_MAX,
    half_width,
    unix_lines,
)
from community.events.models import Event
from community.events.services import (
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
# "35.65800, 139.70160": what map sites copy for a place, pasted whole into the latitude box.
_COORDINATE_PAIR = re.compile(r"^\s*(-?\d+\.\d+)\s*,\s*(-?\d+\.\d+)\s*$")


def parse_coordinate(text: str | None) -> float | None:
    """A latitude or longitude in decimal degrees as typed (full-width digits from a Japanese
    input method included); None when empty. Raises ValueError for anything else."""
    text = half_width(text).strip()
    if not text:
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


class CoordinateField(TypedField):
    """A latitude or a longitude in decimal degrees, read as a float; None when empty. Whether
    the two make a place (both or neither, in range) is the services' rule."""

    def read(self, text: str, form) -> float | None:
        try:
            return parse_coordinate(text)
        except ValueError as error:
            raise ValidationError(
                str(_l("Give the position in decimal degrees, such as 35.658 or 139.7016."))
            ) from error


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

    slug = StringField(_l("Short name"), validators=[Length(max=SHORT_SLUG_MAX)])
    name_ja = StringField(_l("Name (Japanese)"), validators=[Length(max=NAME_MAX)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=NAME_MAX)])
    price = MoneyField(
        _l("Price"), validators=[Length(max=PRICE_TEXT_MAX)], currency_field="currency"
    )
    currency = SelectField(_l("Currency"), choices=[SelectChoice(code, code) for code in EXPONENTS])
    quota = IntegerField(
        _l("Places of this type"),
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
    )
    members_only = BooleanField(_l("Members only"))
    member_price = MoneyField(
        _l("Member price"), validators=[Length(max=PRICE_TEXT_MAX)], currency_field="currency"
    )
    # Read in the event's zone (EventForm.time_zone_field).
    sale_starts_at = ZonedDateTimeField(_l("Sale starts"))
    sale_ends_at = ZonedDateTimeField(_l("Sale ends"))

    def is_empty(self) -> bool:
        typed = (
            self.slug.data,
            self.name_ja.data,
            self.name_en.data,
            self.price.typed,
            self.member_price.typed,
            self.sale_starts_at.typed,
            self.sale_ends_at.typed,
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
    label_ja = StringField(_l("Question (Japanese)"), validators=[Length(max=QUESTION_MAX)])
    label_en = StringField(_l("Question (English)"), validators=[Length(max=QUESTION_MAX)])
    required = BooleanField(_l("An answer is required"))
    options = TextAreaField(
        _l("Options, one per line"), validators=[Length(max=OPTIONS_MAX)], render_kw={"rows": 3}
    )

    def is_empty(self) -> bool:
        return not any(
            (value or "").strip()
            for value in (self.label_ja.data, self.label_en.data, self.options.data)
        )


def _text(label, max_length: int, validators=(), **kwargs):
    return StringField(label, validators=[*validators, Length(max=max_length)], **kwargs)


def _long_text(label, rows: int = 6):
    return TextAreaField(label, validators=[Length(max=LONG_TEXT_MAX)], render_kw={"rows": rows})


def _url(label):
    return URLField(label, validators=[Length(max=URL_MAX)], render_kw={"inputmode": "url"})


def _summary(label, language: str):
    return TextAreaField(
        label, validators=[Length(max=SUMMARY_MAX)], render_kw={"rows": 2, "lang": language}
    )


def _coordinate(label):
    return CoordinateField(
        label, validators=[Length(max=COORDINATE_MAX)], render_kw={"inputmode": "decimal"}
    )


class EventForm(CheckedForm):
    # The zone every date-time of the form is typed in, its ticket types' included.
    time_zone_field = "timezone"

    slug = _text(_l("Address of the page"), EVENT_SLUG_MAX, render_kw={"autocapitalize": "none"})
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    title_ja = _text(_l("Title (Japanese)"), TITLE_MAX, render_kw={"lang": "ja"})
    title_en = _text(_l("Title (English)"), TITLE_MAX, render_kw={"lang": "en"})
    summary_ja = _summary(_l("Summary (Japanese)"), "ja")
    summary_en = _summary(_l("Summary (English)"), "en")
    description_ja = _long_text(_l("Description (Japanese, Markdown)"))
    description_en = _long_text(_l("Description (English, Markdown)"))
    prerequisites_ja = _long_text(_l("Before you come (Japanese, workshops)"), rows=3)
    prerequisites_en = _long_text(_l("Before you come (English, workshops)"), rows=3)
    materials_url = _url(_l("Materials link"))
    category = SelectField(_l("Category"), choices=[])
    format = SelectField(_l("Format"), choices=FORMAT_CHOICES)
    venue_name = _text(_l("Venue"), VENUE_NAME_MAX)
    venue_address = _text(_l("Venue address"), ADDRESS_MAX)
    map_url = _url(_l("Map link"))
    latitude = _coordinate(_l("Latitude"))
    longitude = _coordinate(_l("Longitude"))
    online_url = _url(_l("Online link"))
    timezone = StringField(
        _l("Time zone"),
        validators=[
            InputRequired(message=TIME_ZONE_MESSAGE),
            Length(max=TIME_ZONE_MAX),
            KnownTimeZone(),
        ],
    )
    starts_at = ZonedDateTimeField(_l("Starts"), required=True)
    ends_at = ZonedDateTimeField(_l("Ends"), required=True)
    language = SelectField(_l("Language of the event"), choices=LANGUAGE_CHOICES)
    capacity = IntegerField(
        _l("Capacity"),
        validators=[InputRequired(message=_l("Give the number of places."))],
        render_kw={"inputmode": "numeric"},
    )
    registration_opens_at = ZonedDateTimeField(_l("Registration opens"))
    registration_closes_at = ZonedDateTimeField(_l("Registration closes"))
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
        # Date-times and amounts go in as values: the fields show them in the event's zone and
        # in each ticket type's currency.
        data = {name: getattr(event, name) for name in ("slug", "capacity", *EVENT_FIELDS)}
        data["category"] = event.category.slug if event.category else ""
        data["ticket_types"] = [
            {
                "slug": ticket.slug,
                "name_ja": ticket.name_ja,
                "name_en": ticket.name_en,
                "price": ticket.price_minor,
                "currency": ticket.currency,
                "quota": ticket.quota,
                "members_only": ticket.members_only,
                "member_price": ticket.member_price_minor,
                "sale_starts_at": ticket.sale_starts_at,
                "sale_ends_at": ticket.sale_ends_at,
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
        latitude, longitude = self.latitude.typed, self.longitude.typed
        pair = _COORDINATE_PAIR.match(half_width(latitude))
        if pair and not longitude.strip():
            # Read as two numbers, and shown back as two if anything else on the form is refused.
            self.latitude.data, self.longitude.data = pair.groups()
            self.latitude.raw_data, self.longitude.raw_data = [pair[1]], [pair[2]]
        return super().validate(extra_validators)

    def event_data(self, slug: str | None = None) -> EventData:
        """The services' view of what was submitted (call after validate())."""
        tickets = []
        for row in self.ticket_types:
            if row.is_empty():
                continue
            tickets.append(
                TicketTypeData(
                    slug=(row.slug.data or "").strip().lower(),
                    name_ja=(row.name_ja.data or "").strip(),
                    name_en=(row.name_en.data or "").strip(),
                    price_minor=row.price.data or 0,
                    currency=row.currency.data,
                    quota=row.quota.data,
                    members_only=bool(row.members_only.data),
                    member_price_minor=row.member_price.data,
                    sale_starts_at=row.sale_starts_at.data,
                    sale_ends_at=row.sale_ends_at.data,
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
            summary_ja=unix_lines(self.summary_ja.data).strip(),
            summary_en=unix_lines(self.summary_en.data).strip(),
            description_ja=unix_lines(self.description_ja.data),
            description_en=unix_lines(self.description_en.data),
            prerequisites_ja=unix_lines(self.prerequisites_ja.data),
            prerequisites_en=unix_lines(self.prerequisites_en.data),
            materials_url=(self.materials_url.data or "").strip(),
            category_slug=self.category.data or None,
            format=self.format.data,
            venue_name=(self.venue_name.data or "").strip(),
            venue_address=(self.venue_address.data or "").strip(),
            map_url=(self.map_url.data or "").strip(),
            online_url=(self.online_url.data or "").strip(),
            latitude=self.latitude.data,
            longitude=self.longitude.data,
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            timezone=self.timezone.data.strip(),
            language=self.language.data,
            capacity=self.capacity.data,
            registration_opens_at=self.registration_opens_at.data,
            registration_closes_at=self.registration_closes_at.data,
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
        """A refusal about the whole list of ticket types or questions goes above that list."""
        if field_name in self.section_errors:
            self.section_errors[field_name].append(message)
        else:
            super().add_error(field_name, message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.form_errors or any(self.section_errors.values()))


class OrganisersForm(CheckedForm):
    emails = TextAreaField(
        _l("Organisers' e-mail addresses, one per line"),
        validators=[Length(max=NOTE_MAX)],
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
    """Only the CSRF token: publish, duplicate, cancel a registration, promote, check in. The
    page is redirected back to: a refusal is flashed."""

    flashes_errors = True


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
        validators=[NoControlCharacters(), Length(max=NOTE_MAX)],
        render_kw={"rows": 5},
    )


class EmailAttendeesForm(CheckedForm):
    """A message to attendees in Japanese, in English or both (which versions are complete is
    services.check_message's to say), and on the preview page the key of its one sending."""

    subject_ja = StringField(
        _l("Subject in Japanese"),
        validators=[NoControlCharacters(), Length(max=SUBJECT_MAX)],
        render_kw={"lang": "ja", "maxlength": SUBJECT_MAX},
    )
    body_ja = TextAreaField(
        _l("Message in Japanese"),
        validators=[NoControlCharacters(), Length(max=MESSAGE_MAX)],
        render_kw={"rows": 8, "lang": "ja"},
    )
    subject_en = StringField(
        _l("Subject in English"),
        validators=[NoControlCharacters(), Length(max=SUBJECT_MAX)],
        render_kw={"lang": "en", "maxlength": SUBJECT_MAX},
    )
    body_en = TextAreaField(
        _l("Message in English"),
        validators=[NoControlCharacters(), Length(max=MESSAGE_MAX)],
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
            body_ja=unix_lines(self.body_ja.data),
            subject_en=self.subject_en.data or "",
            body_en=unix_lines(self.body_en.data),
        )


class CheckInForm(CheckedForm):
    # Without the text rule: a scanned code is only looked up (its control characters dropped
    # by search_term), never stored or sent, and junk in it is simply "no such ticket".
    text_rule = False
    flashes_errors = True  # the check-in page is redirected back to

    code = HiddenField()
    q = HiddenField()
