"""The base of every HTML form, and the fields that read what people type into what the services
take.

CheckedForm applies the one text rule (core.text) to each text field, nested rows included, so
that no form can forget it, and puts a service's refusal (a DomainError) where the person will look
for it: `add_domain_error`. MoneyField reads an amount in a currency's minor units (core.money);
ZonedDateTimeField reads a wall-clock date and time in a named IANA zone as an aware UTC datetime.
Both keep what was typed, to show it again when the form is refused, and read it when the form is
validated, once the currency or the zone (another field of the form) is known. What a field must
hold beyond that (its length, its format) is its own form's business.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import DateTimeLocalInput

from community.core.dates import is_valid_timezone
from community.core.errors import DomainError
from community.core.money import MoneyError, parse_amount, to_major_string
from community.core.text import TIME_ZONE_MAX, is_clean_text, is_single_line

CONTROL_CHARACTERS_MESSAGE = _l("Remove the control characters from this field.")
AMOUNT_MESSAGE = _l("Give an amount such as 1500 (or 12.50 in a currency with cents).")
DATE_TIME_REQUIRED_MESSAGE = _l("Give a date and time.")
DATE_TIME_MESSAGE = _l("Give a date and time that exists in the event's time zone.")
TIME_ZONE_MESSAGE = _l("Choose a time zone such as Asia/Tokyo.")

# Browsers send "2026-12-03T19:00" (some with seconds); a browser without the date-time widget
# shows a text box, where people type a space instead of the "T".
LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
# Dates far outside these are typing mistakes (and year 1 or 9999 overflow in some zones).
MIN_YEAR, MAX_YEAR = 2000, 2200


# --- the text rule -------------------------------------------------------------------------------


def _allowed(field) -> bool:
    # A password is hashed, never shown or sent: whatever a person chose is theirs to keep.
    if not isinstance(field.data, str) or isinstance(field, PasswordField):
        return True
    return (
        is_clean_text(field.data)
        if isinstance(field, TextAreaField)
        else is_single_line(field.data)
    )


class NoControlCharacters:
    """Refuses control characters and line separators (a text area keeps its line breaks)."""

    def __call__(self, form, field) -> None:
        if not _allowed(field):
            raise StopValidation(CONTROL_CHARACTERS_MESSAGE)


def nested_forms(form):
    """`form` and every form inside it: the rows of its lists, its sub-forms."""
    yield form
    for field in form:
        if isinstance(field, FieldList):
            for entry in field:
                if isinstance(entry, FormField):
                    yield from nested_forms(entry.form)
        elif isinstance(field, FormField):
            yield from nested_forms(field.form)


def text_fields(form):
    """Every text field of `form`, inside its lists of rows and sub-forms too."""
    for field in form:
        if isinstance(field, FieldList):
            for entry in field:
                if isinstance(entry, FormField):
                    yield from text_fields(entry.form)
                elif isinstance(entry, StringField | TextAreaField):
                    yield entry
        elif isinstance(field, FormField):
            yield from text_fields(field.form)
        elif isinstance(field, StringField | TextAreaField):
            yield field


# --- fields that read what was typed -------------------------------------------------------------


class TypedField(StringField):
    """A text box whose text is read into another type when the form is validated.

    Until then `data` holds the text as typed, so that the usual validators (Length, a form's own)
    see what the person sent; `read` turns it into the value. A refused form shows the text again
    as it was typed; a form made from data shows the value through `show`.
    """

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return self.data if isinstance(self.data, str) else self.show(self.data)

    @property
    def typed(self) -> str:
        """What the person typed ("" when the form was not sent)."""
        return self.raw_data[0] if self.raw_data else ""

    def post_validate(self, form, validation_stopped: bool) -> None:
        if not isinstance(self.data, str):
            return  # read already
        text, self.data = self.data.strip(), None  # None unless read: a refused text has no value
        # Optional() stops the chain without a word on an empty field: that is still read (None).
        if self.errors:
            return
        if not is_single_line(text):
            raise ValidationError(str(CONTROL_CHARACTERS_MESSAGE))
        self.data = self.read(text, form)

    def read(self, text: str, form):
        """The value of the stripped `text` ("" when nothing was typed); raises ValidationError
        with the message to show."""
        raise NotImplementedError

    def show(self, value) -> str:
        return str(value)


class MoneyField(TypedField):
    """An amount as typed ("1,500", "￥１，５００", "12.50") read in minor units of its currency:
    1500 JPY, 1250 USD; None when left empty.

    The currency is `currency`, or the value of the form's field named `currency_field` (a row's
    currency select), read when the form is validated.
    """

    def __init__(
        self, label=None, validators=None, *, currency=None, currency_field=None, **kwargs
    ):
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)
        self.currency = currency
        self.currency_field = currency_field

    def read(self, text: str, form) -> int | None:
        if not text:
            return None
        if self.currency_field and self.currency_field in form:
            self.currency = form[self.currency_field].data
        try:
            return parse_amount(text, self.currency or "")
        except MoneyError as error:
            raise ValidationError(str(AMOUNT_MESSAGE)) from error

    def show(self, value) -> str:
        return to_major_string(value, self.currency) if self.currency else str(value)


def is_known_zone(name: str | None) -> bool:
    """Whether `name` is an IANA time zone. ZoneInfo opens a file named after the zone, so a name
    longer than any zone's is refused first (it would be an OSError, not a "no such zone")."""
    return bool(name) and len(name) <= TIME_ZONE_MAX and is_valid_timezone(name)


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
    for pattern in LOCAL_FORMATS:
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


class ZonedDateTimeField(TypedField):
    """A wall-clock date and time ("2026-12-03T19:00") in the IANA zone `zone`, read as an aware
    UTC datetime; None when left empty (refused with `required_message` when `required`).

    A form whose zone is one of its own fields names it in `time_zone_field` (CheckedForm gives
    it to every such field, its rows' too). While the zone is not a known one, nothing is read
    and nothing is said: the zone's own field says what is wrong with it.
    """

    widget = DateTimeLocalInput()

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        zone: str | None = None,
        required: bool = False,
        required_message=DATE_TIME_REQUIRED_MESSAGE,
        message=DATE_TIME_MESSAGE,
        **kwargs,
    ):
        super().__init__(label, validators, **kwargs)
        self.zone = zone
        self.required = required
        self.required_message = required_message
        self.message = message

    def read(self, text: str, form) -> datetime | None:
        if not is_known_zone(self.zone):
            return None
        if not text:
            if self.required:
                raise ValidationError(str(self.required_message))
            return None
        try:
            return to_utc(text, self.zone)
        except ValueError as error:
            raise ValidationError(str(self.message)) from error

    def show(self, value) -> str:
        if not is_known_zone(self.zone):
            return ""
        return local_input(value, self.zone)


class KnownTimeZone:
    """Refuses a name that is not an IANA time zone (Asia/Tokyo, Europe/Paris). Says nothing when
    the field is refused already, or breaks the text rule (whose message says more)."""

    def __init__(self, message=TIME_ZONE_MESSAGE):
        self.message = message

    def __call__(self, form, field) -> None:
        value = (field.data or "").strip()
        if field.errors or not is_single_line(value):
            return
        if not is_known_zone(value):
            raise ValidationError(str(self.message))


# --- the base form -------------------------------------------------------------------------------


class CheckedForm(FlaskForm):
    """FlaskForm whose text fields all follow the text rule, with the message on the field, and
    on which a service's refusal lands where the person will look for it (`add_error`)."""

    # False for a form whose text is only looked up, never stored or sent (a scanned code).
    text_rule = True
    # The field holding the zone that the form's ZonedDateTimeFields are read in, if any.
    time_zone_field: str | None = None
    # A form on a page that is redirected back to rather than rendered again (a button in a
    # list): what it refuses is flashed, or it would vanish with the form.
    flashes_errors = False

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        super().process(formdata, obj, data, extra_filters, **kwargs)
        self.bind_fields()

    def bind_fields(self) -> None:
        """Gives each MoneyField its row's currency and each ZonedDateTimeField the form's zone,
        so that they show their values (and read what was typed) in them."""
        zone = None
        if self.time_zone_field and self.time_zone_field in self:
            zone = (self[self.time_zone_field].data or "").strip()
        for form in nested_forms(self):
            for field in form:
                if isinstance(field, MoneyField) and field.currency_field in form:
                    field.currency = form[field.currency_field].data
                elif isinstance(field, ZonedDateTimeField) and zone is not None:
                    field.zone = zone

    def validate(self, extra_validators=None) -> bool:
        self.bind_fields()
        valid = super().validate(extra_validators)
        if not self.text_rule:
            return valid
        for field in text_fields(self):
            if not field.errors and not _allowed(field):
                field.errors = [*field.errors, str(CONTROL_CHARACTERS_MESSAGE)]
                valid = False
        return valid

    def add_error(self, field_name: str | None, message: str) -> None:
        """`message` on the field named, when the form shows it; else on the whole form (or in a
        flashed message, for a form that is not shown again)."""
        if self.flashes_errors:
            flash(message, "error")
            return
        field = self[field_name] if field_name and field_name in self else None
        if field is None or isinstance(field, HiddenField | FieldList | FormField):
            self.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


def add_domain_error(form: CheckedForm, error: DomainError, *, field: str | None = None) -> int:
    """Puts a service's refusal on `form` where the person will look for it: on the field the
    error names (or `field`, where the form calls it something else), else on the whole form.
    Returns the HTTP status to answer with (422, 409 for a conflict, 503 when busy …)."""
    form.add_error(field or error.field, str(error))
    return error.http_status
