"""Input handled once (core.text and core.forms): the named limits agree with the columns that
hold the text, cleaning and normalising (full-width digits, e-mail addresses, line ends), the
fields that read money and zoned date-times when the form is validated, and the one helper that
puts a service's refusal on a form, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import get_flashed_messages
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
)

from community.accounts import services as account_services
from community.accounts.models import ApiToken, User
from community.core import text
from community.core.errors import Conflict, DomainError
from community.core.forms import (
    CheckedForm,
    KnownTimeZone,
    MoneyField,
    ZonedDateTimeField,
    add_domain_error,
)
from community.events.models import Event, Question, Registration, TicketType
from community.payments.models import Order, Refund

# --- the limits ----------------------------------------------------------------------------------

# Where a column holds the text, the limit is its size: a longer text would be refused by
# PostgreSQL only after the form (or the API) had accepted it.
COLUMNS = [
    (text.NAME_MAX, User.name),
    (text.NAME_MAX, Registration.name),
    (text.NAME_MAX, TicketType.name_en),
    (text.EMAIL_MAX, User.email),
    (text.EMAIL_MAX, Registration.email),
    (text.EVENT_SLUG_MAX, Event.slug),
    (text.SHORT_SLUG_MAX, TicketType.slug),
    (text.TITLE_MAX, Event.title_ja),
    (text.SUMMARY_MAX, Event.summary_en),
    (text.URL_MAX, Event.online_url),
    (text.VENUE_NAME_MAX, Event.venue_name),
    (text.ADDRESS_MAX, Event.venue_address),
    (text.TIME_ZONE_MAX, Event.timezone),
    (text.QUESTION_MAX, Question.label_en),
    (text.TOKEN_NAME_MAX, ApiToken.name),
    (text.DESCRIPTION_MAX, Order.description),
    (text.DESCRIPTION_MAX, Refund.reason),
]


@pytest.mark.parametrize(("limit", "column"), COLUMNS, ids=[str(c) for _, c in COLUMNS])
def test_each_limit_is_the_size_of_the_column_that_holds_the_text(limit, column):
    assert column.property.columns[0].type.length == limit


def test_the_names_the_api_is_written_against_stay_importable():
    for name in (
        "is_single_line",
        "is_clean_text",
        "one_line",
        "plain_text",
        "search_term",
        "has_forbidden_character",
        "LINE_BREAKERS",
        "TEXT_BREAKERS",
    ):
        assert hasattr(text, name), name


# --- cleaning and normalising --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("３，０００", "3,000"),
        ("￥１２．５０", "¥12.50"),
        ("－３５．６５８", "-35.658"),
        ("\u3000４２", " 42"),
        ("٣٠٠٠", "٣٠٠٠"),  # not what a Japanese input method types: left for the parser to refuse
        (None, ""),
    ],
)
def test_full_width_digits_and_signs_are_read_as_ascii(typed, read):
    assert text.half_width(typed) == read


def test_an_email_address_is_trimmed_and_lower_cased():
    assert text.normalise_email("  Ann.Lee@Example.COM ") == "ann.lee@example.com"


def test_accounts_use_the_one_email_rule_of_core():
    assert account_services.normalise_email is text.normalise_email


@pytest.mark.parametrize("typed", ["", "ann", "ann@", "a b@example.com", None])
def test_a_malformed_email_address_is_refused_on_the_email_field(typed):
    with pytest.raises(DomainError) as refused:
        text.normalise_email(typed)
    assert refused.value.field == "email"
    assert str(refused.value) == "Enter a valid e-mail address."


def test_an_email_key_groups_what_was_typed_even_when_it_is_no_address():
    assert text.email_key(" Guest@Example.com") == text.email_key("guest@example.com")
    assert text.email_key("  Not An Address ") == "not an address"
    assert len(text.email_key("x" * 1000)) == text.EMAIL_MAX


def test_every_line_end_a_browser_sends_becomes_a_line_feed():
    assert text.unix_lines("one\r\ntwo\rthree\nfour") == "one\ntwo\nthree\nfour"
    assert text.unix_lines(None) == ""


# --- forms used below ----------------------------------------------------------------------------


class PriceRow(Form):
    price = MoneyField("Price", currency_field="currency")
    currency = SelectField("Currency", choices=[SelectChoice("JPY"), SelectChoice("USD")])
    sale_ends_at = ZonedDateTimeField("Sale ends")


class MeetingForm(CheckedForm):
    class Meta:
        csrf = False  # what is checked here is reading the input, not the token

    time_zone_field = "timezone"

    timezone = StringField("Time zone", validators=[KnownTimeZone()])
    starts_at = ZonedDateTimeField("Starts", required=True)
    rows = FieldList(FormField(PriceRow), min_entries=1)
    key = HiddenField()


class FixedForm(CheckedForm):
    class Meta:
        csrf = False

    starts_at = ZonedDateTimeField("Starts", zone="Europe/Paris")
    fee = MoneyField("Fee", currency="USD")


class ButtonForm(CheckedForm):
    class Meta:
        csrf = False

    flashes_errors = True


def meeting(app, **fields) -> MeetingForm:
    data = {
        "timezone": "Asia/Tokyo",
        "starts_at": "2030-01-10T19:00",
        "rows-0-price": "",
        "rows-0-currency": "JPY",
        "rows-0-sale_ends_at": "",
    }
    data.update(fields)
    return MeetingForm(formdata=MultiDict(data))


@pytest.fixture
def request_context(app):
    # An English reader, unless a test says otherwise (the site answers in Japanese by default).
    with app.test_request_context("/", method="POST", headers={"Accept-Language": "en"}):
        yield


# --- MoneyField ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("1,500", "JPY", 1500),
        ("￥１，５００", "JPY", 1500),
        ("1500円", "JPY", 1500),
        ("12.50", "USD", 1250),
        ("$12", "USD", 1200),
        ("", "USD", None),
    ],
)
def test_an_amount_is_read_in_minor_units_of_its_rows_currency(
    app, request_context, typed, currency, minor
):
    form = meeting(app, **{"rows-0-price": typed, "rows-0-currency": currency})
    assert form.validate(), form.errors
    assert form.rows[0].price.data == minor


@pytest.mark.parametrize(
    ("typed", "currency"), [("12.505", "USD"), ("12.5", "JPY"), ("-3", "JPY"), ("lots", "USD")]
)
def test_an_amount_that_is_none_is_refused_on_its_field_and_shown_as_typed(
    app, request_context, typed, currency
):
    form = meeting(app, **{"rows-0-price": typed, "rows-0-currency": currency})
    assert not form.validate()
    price = form.rows[0].price
    assert price.errors == ["Give an amount such as 1500 (or 12.50 in a currency with cents)."]
    assert f'value="{typed}"' in price()


def test_an_amount_is_refused_in_japanese_for_a_japanese_reader(app, request_context):
    with force_locale("ja"):
        form = meeting(app, **{"rows-0-price": "12.505", "rows-0-currency": "USD"})
        assert not form.validate()
    assert form.rows[0].price.errors == [
        "1500のような金額を入力してください（セント単位のある通貨では12.50のように入力します）。"
    ]


def test_an_amount_given_as_data_is_shown_in_its_currency(app, request_context):
    form = MeetingForm(
        formdata=None,
        data={"timezone": "Asia/Tokyo", "rows": [{"price": 1250, "currency": "USD"}]},
    )
    assert 'value="12.50"' in form.rows[0].price()
    form = MeetingForm(formdata=None, data={"rows": [{"price": 5000, "currency": "JPY"}]})
    assert 'value="5000"' in form.rows[0].price()


def test_an_amount_in_a_currency_the_view_gives_is_read_in_it(app, request_context):
    form = FixedForm(formdata=MultiDict({"fee": "９．９９"}))
    assert form.validate(), form.errors
    assert form.fee.data == 999


def test_control_characters_in_an_amount_are_refused_as_in_any_text(app, request_context):
    form = meeting(app, **{"rows-0-price": "15\x0100"})
    assert not form.validate()
    assert form.rows[0].price.errors == ["Remove the control characters from this field."]


# --- ZonedDateTimeField --------------------------------------------------------------------------


def test_a_wall_clock_time_is_read_in_the_forms_zone_as_aware_utc(app, request_context):
    form = meeting(app, starts_at="2030-01-10T19:00", **{"rows-0-sale_ends_at": "2030-01-09 23:59"})
    assert form.validate(), form.errors
    assert form.starts_at.data == datetime(2030, 1, 10, 10, 0, tzinfo=UTC)
    # A row's date-time is read in the zone of the form around it.
    assert form.rows[0].sale_ends_at.data == datetime(2030, 1, 9, 14, 59, tzinfo=UTC)


def test_the_same_wall_clock_time_is_another_moment_in_another_zone(app, request_context):
    form = meeting(app, timezone="Europe/Paris", starts_at="2030-07-01T09:00")
    assert form.validate(), form.errors
    assert form.starts_at.data == datetime(2030, 7, 1, 7, 0, tzinfo=UTC)
    fixed = FixedForm(formdata=MultiDict({"starts_at": "2030-01-01T00:00"}))
    assert fixed.validate(), fixed.errors
    assert fixed.starts_at.data == datetime(2029, 12, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "typed"),
    [
        ("America/New_York", "2030-03-10T02:30"),  # the hour skipped when summer time starts
        ("Asia/Tokyo", "next tuesday"),
        ("Asia/Tokyo", "1999-12-31T23:00"),  # before MIN_YEAR: a typing mistake
        ("Asia/Tokyo", "2030-02-30T10:00"),
    ],
)
def test_a_time_that_is_not_one_in_the_zone_is_refused_on_its_field(
    app, request_context, zone, typed
):
    form = meeting(app, timezone=zone, starts_at=typed)
    assert not form.validate()
    assert form.starts_at.errors == ["Give a date and time that exists in the event's time zone."]
    assert form.starts_at.data is None
    assert f'value="{typed}"' in form.starts_at()


def test_a_required_date_time_left_empty_is_asked_for_in_both_languages(app, request_context):
    form = meeting(app, starts_at="  ")
    assert not form.validate()
    assert form.starts_at.errors == ["Give a date and time."]
    with force_locale("ja"):
        form = meeting(app, starts_at="")
        assert not form.validate()
    assert form.starts_at.errors == ["日時を入力してください。"]


def test_an_optional_date_time_left_empty_is_none(app, request_context):
    form = meeting(app)
    assert form.validate(), form.errors
    assert form.rows[0].sale_ends_at.data is None


def test_while_the_zone_is_unknown_only_the_zone_is_refused(app, request_context):
    form = meeting(app, timezone="Mars/Olympus_Mons", starts_at="")
    assert not form.validate()
    assert form.timezone.errors == ["Choose a time zone such as Asia/Tokyo."]
    assert form.starts_at.errors == []


@pytest.mark.parametrize("zone", ["x" * 300, "../../etc/passwd", "Asia/Tokyo\x00"])
def test_a_zone_no_file_could_hold_is_refused_as_unknown_and_nothing_is_read(
    app, request_context, zone
):
    # ZoneInfo would open a file named after it (an OSError for a name this long).
    form = meeting(app, timezone=zone)
    assert not form.validate()
    assert form.starts_at.errors == [] and form.starts_at.data is None
    assert 'value="2030-01-10T19:00"' in form.starts_at()


def test_a_zone_breaking_the_text_rule_is_told_so_rather_than_unknown(app, request_context):
    form = meeting(app, timezone="Asia/Tokyo\x01")
    assert not form.validate()
    assert form.timezone.errors == ["Remove the control characters from this field."]


def test_a_date_time_given_as_data_is_shown_in_the_forms_zone(app, request_context):
    moment = datetime(2030, 1, 10, 10, 0, tzinfo=UTC)
    form = MeetingForm(
        formdata=None,
        data={"timezone": "Asia/Tokyo", "starts_at": moment, "rows": [{"sale_ends_at": moment}]},
    )
    assert 'value="2030-01-10T19:00"' in form.starts_at()
    assert 'value="2030-01-10T19:00"' in form.rows[0].sale_ends_at()
    assert 'type="datetime-local"' in form.starts_at()
    form = MeetingForm(formdata=None, data={"timezone": "Europe/London", "starts_at": moment})
    assert 'value="2030-01-10T10:00"' in form.starts_at()


# --- a service's refusal on the form -------------------------------------------------------------


def test_a_refusal_naming_a_field_lands_on_that_field(app, request_context):
    form = meeting(app)
    form.validate()
    status = add_domain_error(form, DomainError("No such time here.", field="starts_at"))
    assert status == 422
    assert form.starts_at.errors == ["No such time here."]
    assert form.form_errors == []


def test_a_refusal_naming_no_field_or_one_not_shown_lands_on_the_whole_form(app, request_context):
    form = meeting(app)
    form.validate()
    add_domain_error(form, DomainError("Too busy."))
    add_domain_error(form, DomainError("No such thing.", field="nowhere"))
    add_domain_error(form, DomainError("Preview again.", field="key"))  # a hidden field
    add_domain_error(form, DomainError("The list is wrong.", field="rows"))
    assert form.form_errors == [
        "Too busy.",
        "No such thing.",
        "Preview again.",
        "The list is wrong.",
    ]
    assert form.key.errors == []


def test_a_refusal_may_be_put_on_the_field_the_form_calls_otherwise(app, request_context):
    form = meeting(app)
    status = add_domain_error(form, Conflict("Taken.", field="name"), field="timezone")
    assert status == 409
    assert form.timezone.errors == ["Taken."]


def test_a_refusal_for_a_form_that_is_not_shown_again_is_flashed(app, request_context):
    form = ButtonForm(formdata=MultiDict())
    add_domain_error(form, Conflict("Only a draft can be published.", field="status"))
    assert get_flashed_messages(with_categories=True) == [
        ("error", "Only a draft can be published.")
    ]
    assert form.form_errors == []
