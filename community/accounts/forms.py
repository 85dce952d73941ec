"""Account forms. Field names match the services' `field=`, so a DomainError lands on its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

from community.accounts.services import MIN_PASSWORD_LENGTH
from community.core.forms import CheckedForm
from community.core.text import EMAIL_MAX, NAME_MAX, PASSWORD_MAX, TOKEN_NAME_MAX

LANGUAGE_CHOICES = [
    SelectChoice("ja", "日本語", render_kw={"lang": "ja"}),
    SelectChoice("en", "English", render_kw={"lang": "en"}),
]
ROLE_LABELS = {"member": _l("Member"), "organiser": _l("Organiser"), "admin": _l("Administrator")}


def _email_field(label=None):
    return EmailField(
        label or _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter your e-mail address.")),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=EMAIL_MAX),
        ],
        render_kw={"autocomplete": "email"},
    )


def _new_password_field(label=None):
    return PasswordField(
        label or _l("Password"),
        validators=[
            DataRequired(message=_l("Choose a password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=PASSWORD_MAX,
                message=_l("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class SignupForm(CheckedForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Enter your name.")), Length(max=NAME_MAX)],
        render_kw={"autocomplete": "name"},
    )
    email = _email_field()
    password = _new_password_field()
    password_confirm = PasswordField(
        _l("Password again"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    locale = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES)
    # Where the confirmation link brings the person back to (a page of ours), after signing in.
    next = HiddenField()


class LoginForm(CheckedForm):
    email = _email_field()
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class EmailOnlyForm(CheckedForm):
    email = _email_field()


class ResetPasswordForm(CheckedForm):
    password = _new_password_field(_l("New password"))
    password_confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class ProfileForm(CheckedForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Enter your name.")), Length(max=NAME_MAX)],
        render_kw={"autocomplete": "name"},
    )
    locale = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES)


class EmailChangeForm(CheckedForm):
    email = _email_field(_l("New e-mail address"))
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordChangeForm(CheckedForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = _new_password_field(_l("New password"))
    new_password_confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new_password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class DeleteAccountForm(CheckedForm):
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        _l("I understand that this cannot be undone"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )


class RoleForm(CheckedForm):
    flashes_errors = True  # the list of people is redirected back to

    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice("member", ROLE_LABELS["member"]),
            SelectChoice("organiser", ROLE_LABELS["organiser"]),
        ],
    )


class ApiTokenForm(CheckedForm):
    # Not `name`: the profile form on the same page has a field called that.
    token_name = StringField(
        _l("Token name"),
        validators=[
            DataRequired(message=_l("Give the token a name.")),
            Length(max=TOKEN_NAME_MAX),
        ],
    )


class RevokeApiTokenForm(CheckedForm):
    """Only the CSRF token: revoking is a POST with nothing else to say (and a refusal is
    flashed on the profile it redirects to)."""

    flashes_errors = True


class SignOutEverywhereForm(CheckedForm):
    """Only the CSRF token: ending the other sessions needs no more than a click."""
