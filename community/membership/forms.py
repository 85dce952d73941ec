"""Membership's forms: joining, renewing, stopping automatic renewal, and the administrators'
plan form. Field names match the services' `field=`, so that a DomainError lands on its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField

from community.core.forms import CheckedForm


class ActionForm(CheckedForm):
    """A button that changes something: only its CSRF token."""


class RenewForm(CheckedForm):
    plan = RadioField(_l("Plan for the next year"), choices=[])


class AutoRenewForm(CheckedForm):
    renew = HiddenField()
