"""Calendars: iCalendar building as pure functions over events (ical.py), the feeds (views.py)
and the pages for subscribing (pages.py), private feeds (services.py), and the invitations that
ride on the events domain's e-mails (invitations.py).

Reads the events domain through its services and writes only its own tables. It plugs into the
layers below from `init_app`: the private feed's section on the profile page and the manage
page, its personal data, and the invitations in registration e-mails.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from community.accounts.sections import profile_section as accounts_profile_section
from community.accounts.services import PersonalData, personal_data
from community.calendar import invitations, pages, services, views
from community.core.navigation import NavEntry, add_navigation
from community.events.notify import mail_parts
from community.events.sections import manage_section as events_manage_section

NAVIGATION = (
    NavEntry("calendar_pages.index", _l("Calendar"), 20),
    NavEntry("calendar_pages.index", _l("Calendar"), 20, place="footer"),
)


def init_app(app: Flask) -> None:
    # /events/<slug>.ics is the calendar's even though events' /events/<slug> was added first:
    # Werkzeug's matcher prefers the rule with the static ".ics" (tests/calendar/test_event_ics).
    app.register_blueprint(views.bp)
    app.register_blueprint(pages.bp)
    personal_data.register(
        app, "calendar", PersonalData(services.export_feeds, services.erase_feeds)
    )
    accounts_profile_section.register(app, "calendar", pages.profile_section)
    events_manage_section.register(app, "calendar", pages.manage_section)
    mail_parts.register(app, "calendar", invitations.calendar_parts)
    add_navigation(app, *NAVIGATION)
