"""Donations' forms: giving, the donor's changes on their private page, asking for a yearly
statement. Field names match the services' `field=`, so that a DomainError lands on its field;
amounts stay text here and are read (full-width digits, separators) by the service."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from community.core.forms import CheckedForm
from community.core.text import AMOUNT_TEXT_MAX, EMAIL_MAX
from community.donations.models import DONOR_NAME_MAX, MESSAGE_MAX

OTHER = "other"
# An amount longer than any amount is not one: said as the service says it.
AMOUNT_LENGTH = Length(
    max=AMOUNT_TEXT_MAX, message=_l("Give the amount as a number, such as 5000.")
)
WALL_LABELS = [
    SelectChoice("anonymous", _l("Anonymously (no name, no amount)")),
    SelectChoice("name", _l("With my name, without the amount")),
    SelectChoice("name_amount", _l("With my name and the amount")),
]


class GiftForm(CheckedForm):
    kind = RadioField(
        _l("How often"),
        choices=[SelectChoice("one_off", _l("Once")), SelectChoice("monthly", _l("Every month"))],
        default="one_off",
    )
    # Any text is read by the service (a suggested amount or not): no choice is refused here.
    amount = RadioField(_l("Amount"), choices=[], default="", validate_choice=False)
    other_amount = StringField(
        _l("Another amount"),
        validators=[Optional(), AMOUNT_LENGTH],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    # A currency not offered is refused by the service, in its words.
    currency = SelectField(_l("Currency"), choices=[], validate_choice=False)
    # A campaign that ended since the page was shown is refused by the service, in its words.
    campaign = SelectField(_l("Give to"), choices=[], default="", validate_choice=False)
    email = StringField(
        _l("E-mail address"),
        validators=[Length(max=EMAIL_MAX)],
        render_kw={"autocomplete": "email", "type": "email"},
    )
    donor_name = StringField(
        _l("Name on the donor wall"),
        validators=[Optional(), Length(max=DONOR_NAME_MAX)],
        render_kw={"autocomplete": "name"},
    )
    wall = RadioField(_l("On the donor wall"), choices=WALL_LABELS, default="anonymous")
    message = TextAreaField(
        _l("Message to the organisers"), validators=[Optional(), Length(max=MESSAGE_MAX)]
    )

    def amount_text(self) -> str:
        """What the donor chose: a suggested amount, or the one they typed."""
        typed = (self.other_amount.data or "").strip()
        if typed or self.amount.data == OTHER:
            return typed
        return self.amount.data or ""


class WallForm(CheckedForm):
    flashes_errors = True
    donor_name = StringField(
        _l("Name on the donor wall"), validators=[Optional(), Length(max=DONOR_NAME_MAX)]
    )
    wall = RadioField(_l("On the donor wall"), choices=WALL_LABELS, default="anonymous")


class AmountForm(CheckedForm):
    flashes_errors = True
    amount = StringField(
        _l("New monthly amount"),
        validators=[AMOUNT_LENGTH],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class ActionForm(CheckedForm):
    """A button that changes something: only its CSRF token."""


class StatementRequestForm(CheckedForm):
    email = StringField(
        _l("E-mail address you gave from"),
        validators=[Length(max=EMAIL_MAX)],
        render_kw={"autocomplete": "email", "type": "email"},
    )
    year = SelectField(_l("Year"), choices=[])


class ConfirmForm(CheckedForm):
    confirm = HiddenField(default="1")
