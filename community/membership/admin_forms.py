"""The administrators' plan form, and the buttons of the plans list. Field names match the
services' `field=`, so that a DomainError lands on its field. What makes a plan valid (its
address name, a name in one language, a price that a card can pay, a renewal that fits the
price, benefits that the domains offer) is the service's rule, said in its words; the form
reads what was typed, bounds its lengths and refuses what cannot be read."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from community.core.forms import CheckedForm, MoneyField
from community.core.money import EXPONENTS, is_known_currency
from community.core.text import PRICE_TEXT_MAX, unix_lines
from community.membership import services
from community.membership.models import DESCRIPTION_MAX, NAME_MAX, SLUG_MAX

POSITION_MIN, POSITION_MAX = -1000, 1000


class CheckboxesField(SelectMultipleField):
    """Several options, each a checkbox (the forms macro renders it as a fieldset)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PriceField(MoneyField):
    """A price read in the form's currency once that is one we take: until then nothing is read
    and nothing is said here, since the currency's own field says what is wrong."""

    def read(self, text: str, form):
        if self.currency_field in form and not is_known_currency(form[self.currency_field].data):
            return None
        return super().read(text, form)


class ActionForm(CheckedForm):
    """A button in the plans list: its CSRF token is all it sends."""

    flashes_errors = True


class PlanForm(CheckedForm):
    slug = StringField(
        _l("Address name"),
        validators=[
            DataRequired(message=_l("Give the plan an address name.")),
            Length(max=SLUG_MAX),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    name_ja = StringField(_l("Name (Japanese)"), validators=[Optional(), Length(max=NAME_MAX)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=NAME_MAX)])
    description_ja = TextAreaField(
        _l("Description (Japanese)"), validators=[Optional(), Length(max=DESCRIPTION_MAX)]
    )
    description_en = TextAreaField(
        _l("Description (English)"), validators=[Optional(), Length(max=DESCRIPTION_MAX)]
    )
    currency = SelectField(
        _l("Currency"),
        choices=[SelectChoice(code, code) for code in EXPONENTS],
        # Refused in the service's words rather than as "not a valid choice".
        validate_choice=False,
        validators=[AnyOf(list(EXPONENTS), message=_l("This currency is not accepted."))],
    )
    price = PriceField(
        _l("Yearly price"),
        validators=[DataRequired(message=_l("Give the price.")), Length(max=PRICE_TEXT_MAX)],
        currency_field="currency",
    )
    renewal = RadioField(
        _l("Renewal"),
        choices=[
            SelectChoice("subscription", _l("A yearly card subscription, renewed by itself")),
            SelectChoice("one_off", _l("A payment (or, when free, a click) each year")),
        ],
        validators=[InputRequired(message=_l("Choose how the plan is renewed."))],
        validate_choice=False,
    )
    benefits = CheckboxesField(_l("What it gives"), choices=[], validate_choice=False)
    position = IntegerField(
        _l("Display order"),
        default=0,
        validators=[
            InputRequired(message=_l("Enter a position from -1000 to 1000.")),
            NumberRange(
                min=POSITION_MIN,
                max=POSITION_MAX,
                message=_l("Enter a position from -1000 to 1000."),
            ),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.benefits.choices = services.benefit_choices()

    def plan_fields(self) -> services.PlanFields:
        """What was typed, as the service takes it (call once the form is validated)."""
        return services.PlanFields(
            slug=(self.slug.data or "").strip(),
            name_ja=(self.name_ja.data or "").strip(),
            name_en=(self.name_en.data or "").strip(),
            description_ja=unix_lines(self.description_ja.data).strip(),
            description_en=unix_lines(self.description_en.data).strip(),
            price_minor=self.price.data,
            currency=self.currency.data,
            renewal=self.renewal.data or "",
            benefits=tuple(self.benefits.data or ()),
            position=self.position.data,
        )
