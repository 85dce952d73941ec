"""Calendar invitations in the events domain's e-mails (iMIP, RFC 6047): METHOD:REQUEST when a
person gets a confirmed place or their event moves, METHOD:CANCEL when the place they held or the
whole event is gone. Each is written in the recipient's language.

The calendar itself is built by `ical.invitation` (same UID and SEQUENCE as the feeds); which
e-mails carry one is decided here. Nothing here sends mail: events/notify.py asks for the parts,
through its `mail_parts` hook (the calendar's `init_app` registers `calendar_parts`).
"""

from __future__ import annotations

from community.calendar import ical
from community.calendar.site import site_for
from community.core.db import utcnow
from community.core.mail import Attachment
from community.events.models import Registration
from community.events.notify import manage_url

# E-mails that put the event in the person's calendar, or update it there.
REQUEST_KINDS = frozenset({"confirmed", "promoted", "event_changed"})
# E-mails that take it out again.
CANCEL_KINDS = frozenset({"cancelled", "event_cancelled"})
LANGUAGES = ("ja", "en")
FILENAME = "invite.ics"


def method_for(kind: str, registration: Registration) -> str | None:
    """REQUEST, CANCEL, or None when this e-mail carries no invitation."""
    if kind in REQUEST_KINDS:
        # Only a confirmed place at an event that still takes place is worth a calendar entry:
        # by the time the e-mail goes, the person may already have cancelled.
        confirmed = registration.status == "confirmed"
        return "REQUEST" if confirmed and registration.event.status == "published" else None
    if kind in CANCEL_KINDS:
        # Only someone who once held a confirmed place was sent an invitation to take back;
        # people who only waited (or never paid) have nothing in their calendar.
        return "CANCEL" if registration.confirmed_at is not None else None
    return None


def calendar_parts(kind: str, registration: Registration) -> tuple[Attachment, ...]:
    method = method_for(kind, registration)
    if method is None:
        return ()
    language = registration.locale if registration.locale in LANGUAGES else LANGUAGES[0]
    # A cancellation carries no personal part: the online link is for people who have a place.
    personal = (
        ical.Personal(registration.status, manage_url(registration))
        if method == "REQUEST"
        else None
    )
    body = ical.invitation(
        registration.event,
        site_for((language,)),
        method=method,
        attendee_email=registration.email,
        attendee_name=registration.name,
        stamp=utcnow(),
        personal=personal,
    )
    return (
        # What Gmail, Outlook and Apple Mail act on: a text/calendar version of the body whose
        # MIME method matches the calendar's METHOD.
        Attachment(
            FILENAME,
            body,
            "text",
            "calendar",
            {"charset": "utf-8", "method": method},
            alternative=True,
        ),
        # The same calendar as a file, for clients that ignore the inline part (and for people
        # who import by hand). application/ics, as Google Calendar's own invitations do, rather
        # than a second text/calendar with a method: clients that scan every part would take
        # that for a second invitation, while this one stays a plain file everywhere.
        Attachment(FILENAME, body, "application", "ics", {"name": FILENAME}),
    )
