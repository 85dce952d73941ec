"""The refund form, shared by the orders pages here and the attendee list of events.

Both live inside a page that is redirected back to rather than rendered again, so a refused
amount is said in a flashed message instead of vanishing with the form. Whether the amount fits
the order (at most what is left) is the services' rule (`refund_order`), with its own message.
"""

from __future__ import annotations

import re

from flask import flash
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import ValidationError

from community.core.forms import CheckedForm

# No payment is above Stripe's 99,999,999 per charge: more digits are a typing mistake (and
# beyond 4,300 digits Python would refuse to read them at all).
MAX_WHOLE_DIGITS = 8
MAX_AMOUNT_LENGTH = 40
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
    amount = StringField(
        _l("Amount to refund (empty: everything paid)"),
        validators=[ReasonableAmount()],
        render_kw={"inputmode": "decimal"},
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid:
            for messages in self.errors.values():
                for message in messages:
                    flash(str(message), "error")
        return valid
