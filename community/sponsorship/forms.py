"""Sponsorship's forms: a company's profile and billing details, its logo and contacts, buying a
tier, and the administrators' tier form. Field names match the services' `field=`, so that a
DomainError lands on its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from community.core.forms import CheckedForm, MoneyField
from community.core.money import EXPONENTS
from community.core.text import (
    ADDRESS_MAX,
    EMAIL_MAX,
    NAME_MAX,
    NOTE_MAX,
    PRICE_TEXT_MAX,
    SHORT_SLUG_MAX,
    URL_MAX,
)
from community.sponsorship.models import LOGO_SIZES

COMPANY_NAME_MAX = 200
LARGEST_COUNT = 10_000  # places, tickets or posts: more is a typing mistake
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class PartnerForm(CheckedForm):
    name_ja = StringField(
        _l("Company name (Japanese)"), validators=[Optional(), Length(max=COMPANY_NAME_MAX)]
    )
    name_en = StringField(
        _l("Company name (English)"), validators=[Optional(), Length(max=COMPANY_NAME_MAX)]
    )
    website = StringField(
        _l("Website"),
        validators=[
            Optional(),
            Length(max=URL_MAX),
            URL(require_tld=True, message=_l("Give the address of the website, https://…")),
        ],
        render_kw={"inputmode": "url", "autocomplete": "url"},
    )
    description_ja = TextAreaField(
        _l("About the company (Japanese)"), validators=[Optional(), Length(max=NOTE_MAX)]
    )
    description_en = TextAreaField(
        _l("About the company (English)"), validators=[Optional(), Length(max=NOTE_MAX)]
    )
    billing_name = StringField(
        _l("Name on invoices"), validators=[Optional(), Length(max=COMPANY_NAME_MAX)]
    )
    billing_department = StringField(
        _l("Department"), validators=[Optional(), Length(max=COMPANY_NAME_MAX)]
    )
    billing_contact = StringField(
        _l("Contact person for invoices"), validators=[Optional(), Length(max=NAME_MAX)]
    )
    billing_address = TextAreaField(
        _l("Billing address"), validators=[Optional(), Length(max=ADDRESS_MAX)]
    )
    registration_number = StringField(
        _l("Qualified invoice registration number"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "off", "placeholder": "T1234567890123"},
    )
    registration_number_confirmed = BooleanField(
        _l(
            "This number is right: it is a sole proprietor's registration number, not a "
            "corporate number"
        )
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not (self.name_ja.data or "").strip() and not (self.name_en.data or "").strip():
            self.name_en.errors = [*self.name_en.errors, str(_l("Give the company's name."))]
            valid = False
        return valid


class LogoForm(CheckedForm):
    logo = FileField(_l("Logo (PNG, JPEG, WebP or SVG, at most 2 MB)"))
    remove = BooleanField(_l("Remove the logo"))


class ContactForm(CheckedForm):
    email = EmailField(
        _l("E-mail address of their account"),
        validators=[
            DataRequired(message=_l("Enter their e-mail address.")),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=EMAIL_MAX),
        ],
    )


class BuyForm(CheckedForm):
    partner = SelectField(_l("Company"), coerce=int, validators=[InputRequired()])
    # Tiers and years on sale are the service's to decide: a retired tier, or a year no longer
    # sold, is refused in words that say so rather than as "not a valid choice".
    tier = RadioField(
        _l("Tier"),
        validators=[InputRequired(message=_l("Choose a tier.")), Length(max=SHORT_SLUG_MAX)],
        validate_choice=False,
    )
    year = RadioField(
        _l("Sponsorship year"),
        coerce=int,
        validators=[InputRequired(message=_l("Choose a year."))],
        validate_choice=False,
    )
    method = RadioField(
        _l("How to pay"),
        choices=[
            SelectChoice("card", _l("By card, now (Stripe)")),
            SelectChoice("invoice", _l("By bank transfer, against an invoice")),
        ],
        validators=[InputRequired(message=_l("Choose how to pay."))],
    )


class ActionForm(CheckedForm):
    """A button: its CSRF token is all it sends."""

    flashes_errors = True


class TierForm(CheckedForm):
    slug = StringField(
        _l("Short name (in addresses)"),
        validators=[
            DataRequired(message=_l("Give a short name.")),
            Length(max=SHORT_SLUG_MAX),
            Regexp(SLUG_PATTERN, message=_l("Use lower-case letters, digits and hyphens.")),
        ],
    )
    name_ja = StringField(_l("Name (Japanese)"), validators=[Optional(), Length(max=NAME_MAX)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=NAME_MAX)])
    benefits_ja = TextAreaField(
        _l("Benefits (Japanese), one a line"), validators=[Optional(), Length(max=NOTE_MAX)]
    )
    benefits_en = TextAreaField(
        _l("Benefits (English), one a line"), validators=[Optional(), Length(max=NOTE_MAX)]
    )
    currency = SelectField(_l("Currency"), choices=[SelectChoice(code, code) for code in EXPONENTS])
    price = MoneyField(
        _l("Yearly price"),
        validators=[DataRequired(message=_l("Give the price.")), Length(max=PRICE_TEXT_MAX)],
        currency_field="currency",
    )
    price_includes_tax = BooleanField(_l("The price includes consumption tax"))
    tax_rate = IntegerField(
        _l("Consumption tax rate (%)"),
        default=10,
        validators=[InputRequired(), NumberRange(min=0, max=100)],
    )
    places = IntegerField(
        _l("Partners who may hold it in one year (empty: no limit)"),
        validators=[Optional(), NumberRange(min=0, max=LARGEST_COUNT)],
    )
    complimentary_tickets = IntegerField(
        _l("Complimentary tickets for each event"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=LARGEST_COUNT)],
    )
    logo_size = SelectField(
        _l("Logo size"),
        choices=[
            SelectChoice(size, label)
            for size, label in zip(
                LOGO_SIZES, (_l("Large"), _l("Medium"), _l("Small")), strict=True
            )
        ],
    )
    mention_at_openings = BooleanField(_l("Mentioned at event openings"))
    posts = IntegerField(
        _l("Job or event posts a year"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=LARGEST_COUNT)],
    )
    position = IntegerField(
        _l("Display order"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=LARGEST_COUNT)],
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not (self.name_ja.data or "").strip() and not (self.name_en.data or "").strip():
            self.name_en.errors = [*self.name_en.errors, str(_l("Give the tier's name."))]
            valid = False
        if self.price.data is not None and self.price.data < 0:
            self.price.errors = [*self.price.errors, str(_l("A price cannot be negative."))]
            valid = False
        return valid


class EventSponsorForm(CheckedForm):
    event = StringField(
        _l("Event (the short name in its address)"),
        validators=[DataRequired(message=_l("Give the event.")), Length(max=80)],
    )
    partner = SelectField(_l("Company"), coerce=int, validators=[InputRequired()])
    role = SelectField(
        _l("What it sponsors"),
        choices=[
            SelectChoice("venue", _l("Venue")),
            SelectChoice("food", _l("Food and drinks")),
            SelectChoice("speaker", _l("Speaker")),
            SelectChoice("other", _l("Other support")),
        ],
    )

    @classmethod
    def for_partners(cls, choices: list[tuple[int, str]]) -> EventSponsorForm:
        form = cls()
        form.partner.choices = choices
        return form
