"""The "My events" section of the profile page, which events adds to it through accounts'
`profile_section` hook (accounts never imports events). What it holds, and whose registrations
count as the account's, is services.my_events; this module only renders it.
"""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from community.accounts.models import User
from community.core.db import utcnow
from community.events import services


def my_events_section(user: User) -> Markup:
    moment = utcnow()
    return Markup(  # noqa: S704 - rendered by our own autoescaping templates
        render_template(
            "events/_my_events.html", mine=services.my_events(user, moment), user=user, now=moment
        )
    )
