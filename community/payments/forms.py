"""The refund form, shared by the orders pages here and the attendee list of events; and the
form an administrator records a bank transfer with.

Both live inside a page that is redirected back to rather than rendered again, so a refused
amount is said in a flashed message instead of vanishing with the form. The amount is read in the
currency of what is refunded, which the view gives (`RefundAmountForm(currency=...)`). Whether the
amount fits the order (at most what is left) is the services' rule (`refund_order`), with its own
message.
"""

from __future__ import annotations

import re

from flask import flash
from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from community.core.forms import CheckedForm, MoneyField
from community.core.text import AMOUNT_TEXT_MAX

# No payment is above Stripe's 99,999,999 per charge: more digits are a typing mistake (and
# beyond 4,300 digits Python would refuse to read them at all).
MAX_WHOLE_DIGITS = 8
MAX_AMOUNT_LENGTH = AMOUNT_TEXT_MAX
_SEPARATORS = re.compile(r"[\s,¥$]")

TOO_LARGE = _l("This amount is larger than any payment. Give at most what was paid, such as 1500.")


def _whole_digits(text: str) -> int:
    whole = _SEPARATORS.sub("", text).partition(".")[0]
    return len(whole.lstrip("0")) if whole.isdigit() else 0


class ReasonableAmount:
    """Refuses an amount far beyond any payment (30 digits, say) with a message saying so."""

    def __call__(self, form, field) -> None:
        text = (field.data or "").strip()
        if len(text) > MAX_AMOUNT_LENGTH or _whole_digits(text) > MAX_WHOLE_DIGITS:
            raise ValidationError(TOO_LARGE)


class RefundAmountForm(CheckedForm):
    flashes_errors = True  # a service's refusal too

    # In minor units of `currency`; None (left empty) is everything paid.
    amount = MoneyField(
        _l("Amount to refund (empty: everything paid)"), validators=[ReasonableAmount()]
    )

    def __init__(self, *args, currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.amount.currency = currency

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid:
            for messages in self.errors.values():
                for message in messages:
                    flash(str(message), "error")
        return valid


DAY_MESSAGE = _l("Give the day as a date, such as 2026-12-03.")
TRANSFER_REFERENCE_MAX = 200


class DayField(DateField):
    """A calendar day (the browser's date picker sends 2026-12-03), refused in our words."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            self.data = None
            raise ValueError(str(DAY_MESSAGE)) from error


class BankTransferForm(CheckedForm):
    """A transfer seen on the community's account: how much arrived, on which day (in the
    community's time zone), and the bank's reference for it. That it is exactly the order's
    amount, and not in the future, is the services' rule (`record_payment`)."""

    amount = MoneyField(
        _l("Amount received"),
        validators=[InputRequired(_l("Give the amount that arrived.")), ReasonableAmount()],
    )
    received_on = DayField(
        _l("Day it arrived on the account"),
        validators=[InputRequired(_l("Give the day the money arrived."))],
    )
    reference = StringField(
        _l("Bank reference (the payer's name as the statement shows it)"),
        validators=[Optional(), Length(max=TRANSFER_REFERENCE_MAX)],
    )

    def __init__(self, *args, currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.amount.currency = currency
