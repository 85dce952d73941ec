"""E-mails to registrants, in each one's language: what happened to their registration, with
their manage link (and the online link once they have a confirmed place).

Domains built on this one add parts to these e-mails (the calendar's invitations) through
`register_mail_parts`: events never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from flask_babel import lazy_gettext as _l

from community.core.db import db
from community.core.mail import Attachment, send_mail
from community.core.urls import external_url
from community.events.models import Event, Registration

log = logging.getLogger(__name__)

SUBJECTS = {
    "confirmed": _l("You are registered: %(title)s"),
    "promoted": _l("A place came free: you are registered for %(title)s"),
    "awaiting_payment": _l("Complete your payment: %(title)s"),
    "offered": _l("A place came free for you: %(title)s"),
    "waitlisted": _l("You are on the waiting list: %(title)s"),
    "cancelled": _l("Your registration is cancelled: %(title)s"),
    "hold_expired": _l("Your place was released: %(title)s"),
    "offer_expired": _l("Your offer has expired: %(title)s"),
    "reminder": _l("Reminder: %(title)s"),
    "event_cancelled": _l("Cancelled: %(title)s"),
    "event_changed": _l("New time or place: %(title)s"),
}

# (kind, registration) → the further parts of that e-mail, or None.
MailParts = Callable[[str, Registration], Iterable[Attachment] | None]
_mail_parts: dict[str, MailParts] = {}


def register_mail_parts(name: str, parts: MailParts) -> None:
    """Have `parts` add to every registration e-mail (once per name: each app registers again)."""
    _mail_parts[name] = parts


def _extra_parts(kind: str, registration: Registration) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for name, parts in _mail_parts.items():
        try:
            found.extend(parts(kind, registration) or ())
        except Exception:
            # The e-mail says what happened to the person's place: it goes without the extra
            # parts rather than not at all, and the log says why.
            log.exception(
                "%s parts for a %r e-mail to registration %s", name, kind, registration.id
            )
    return tuple(found)


def manage_url(registration: Registration) -> str:
    from community.events.services.tickets import manage_token

    return external_url(
        "events.manage", registration_id=registration.id, token=manage_token(registration)
    )


def send_notification(notification) -> bool:
    registration = db.session.get(Registration, notification.registration_id)
    if registration is None:
        log.warning("notification %s for a missing registration", notification)
        return False
    return send_registration_mail(notification.kind, registration, **notification.extra)


def send_registration_mail(kind: str, registration: Registration, **extra) -> bool:
    return mail_registrant(
        registration,
        SUBJECTS[kind],
        "events/registration",
        _extra_parts(kind, registration),
        kind=kind,
        **extra,
    )


def mail_registrant(
    registration: Registration,
    subject,
    template: str,
    attachments: tuple[Attachment, ...] = (),
    **extra,
) -> bool:
    """One e-mail to the person who registered, in their language: `subject` is a lazy string
    with `%(title)s`; the template gets the registration, event, title and both links."""
    event: Event = registration.event
    language = registration.locale
    title = getattr(event, f"title_{language}", "") or event.title_ja or event.title_en
    return send_mail(
        registration.email,
        _Formatted(subject, title=title),
        template,
        language,
        attachments,
        registration=registration,
        event=event,
        title=title,
        manage_url=manage_url(registration),
        event_url=external_url("events.detail", slug=event.slug),
        **extra,
    )


class _Formatted:
    """A lazily translated subject with its values, rendered in the recipient's locale."""

    def __init__(self, lazy, **values) -> None:
        self.lazy = lazy
        self.values = values

    def __str__(self) -> str:
        return str(self.lazy) % self.values
