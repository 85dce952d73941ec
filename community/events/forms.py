"""Registration form, built per event from its ticket types and questions.

Answers are fields named `q_<question id>`; the service reports errors on `answers.<id>`, which
`answers_field_name` maps back.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from community.core.forms import CheckedForm
from community.core.i18n import current_language
from community.core.money import format_money
from community.core.text import (
    EMAIL_MAX,
    LONG_ANSWER_MAX,
    NAME_MAX,
    SHORT_ANSWER_MAX,
    VOUCHER_MAX,
)
from community.events.models import Event
from community.events.offers import voucher_kind


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def answers_field_name(service_field: str | None) -> str | None:
    if service_field and service_field.startswith("answers."):
        return "q_" + service_field.split(".", 1)[1]
    return service_field


def ticket_label(ticket, event: Event) -> str:
    language = current_language()
    price = (
        str(_l("Free"))
        if ticket.is_free
        else format_money(ticket.price_minor, ticket.currency, language)
    )
    left = ticket.places_left(event)
    state = str(_l("%(count)d left", count=left)) if left else str(_l("waiting list"))
    return str(_l("%(name)s — %(price)s (%(state)s)", name=ticket.name, price=price, state=state))


def registration_form_for(event: Event, formdata=None, **kwargs) -> FlaskForm:
    language = current_language()

    class RegistrationForm(CheckedForm):
        name = StringField(
            _l("Name"),
            validators=[DataRequired(message=_l("Enter your name.")), Length(max=NAME_MAX)],
            render_kw={"autocomplete": "name"},
        )
        email = EmailField(
            _l("E-mail address"),
            validators=[
                DataRequired(message=_l("Enter your e-mail address.")),
                Email(message=_l("Enter a valid e-mail address.")),
                Length(max=EMAIL_MAX),
            ],
            render_kw={"autocomplete": "email"},
        )

    choices = [SelectChoice(t.slug, ticket_label(t, event)) for t in event.ticket_types]
    RegistrationForm.ticket_type = SelectField(_l("Ticket"), choices=choices)
    for question in event.questions:
        validators = [DataRequired(message=_l("This question needs an answer."))]
        if not question.required:
            validators = [Optional()]
        options = [
            SelectChoice(value, question.option_label(value, language))
            for value in question.option_values()
        ]
        if question.kind == "short_text":
            limit = Length(max=SHORT_ANSWER_MAX)
            field = StringField(question.label, validators=[*validators, limit])
        elif question.kind == "long_text":
            limit = Length(max=LONG_ANSWER_MAX)
            field = TextAreaField(question.label, validators=[*validators, limit])
        elif question.kind == "single_choice":
            field = RadioField(question.label, choices=options, validators=validators)
        else:
            field = CheckboxesField(question.label, choices=options, validators=validators)
        setattr(RegistrationForm, f"q_{question.id}", field)
    if voucher_kind.items():  # a domain gives codes a meaning (sponsorship's complimentary ones)
        RegistrationForm.voucher = StringField(
            _l("Voucher or complimentary code"),
            validators=[Optional(), Length(max=VOUCHER_MAX)],
            render_kw={"autocomplete": "off", "autocapitalize": "characters"},
        )
    return (
        RegistrationForm(formdata=formdata, **kwargs)
        if formdata is not None
        else RegistrationForm(**kwargs)
    )


def answers_from(form, event: Event) -> dict:
    answers = {}
    for question in event.questions:
        value = getattr(form, f"q_{question.id}").data
        if value not in (None, "", []):
            answers[str(question.id)] = value
    return answers


class CancelForm(CheckedForm):
    """Only the CSRF token: the registration comes from the signed manage link. Its page is
    redirected back to: a refusal is flashed."""

    flashes_errors = True


class ResendLinksForm(CheckedForm):
    """The address whose manage links are e-mailed to it again."""

    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter your e-mail address.")),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=EMAIL_MAX, message=_l("Enter a valid e-mail address.")),
        ],
        render_kw={"autocomplete": "email"},
    )
