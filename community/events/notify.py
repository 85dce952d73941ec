"""E-mails to registrants, in each one's language: what happened to their registration, with
their manage link (and the online link once they have a confirmed place), and what happens to
their money.

One action, one e-mail per person: inside `one_email_each()` the e-mails of an action (a
cancellation and the refund it starts) are held and sent together at its end, the news of the
money in the e-mail that says what happened to the place.

Domains built on this one add parts to these e-mails (the calendar's invitations) through
`register_mail_parts`: events never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from community.core.db import db
from community.core.mail import Attachment, send_mail
from community.core.urls import external_url
from community.events.models import Event, Registration
from community.payments import services as payments

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
    "payment_failed": _l("Your payment did not go through: %(title)s"),
    "reminder": _l("Reminder: %(title)s"),
    "event_cancelled": _l("Cancelled: %(title)s"),
    "event_changed": _l("New time or place: %(title)s"),
}

REFUND_SUBJECT = _l("Your payment is being refunded: %(title)s")


@dataclass
class MoneyNews:
    """What becomes of a person's money, said in the e-mail of the action that decided it.

    `refund_minor` is going back now (0: nothing, though `paid_minor` was paid); `share` is the
    percentage the event's policy gave, when it decided the amount; `failed`: the refund could
    not be started. `place` says, in a refund's own e-mail, whether the person keeps their place
    ("kept") or loses it with the refund ("cancelled"); "" when that is not the news.
    """

    currency: str
    paid_minor: int = 0
    refund_minor: int = 0
    share: int | None = None
    failed: bool = False
    place: str = ""
    reason: str = "refund"  # the refund e-mail's wording when it goes alone (refund.txt)


@dataclass
class _Outbox:
    notifications: list = field(default_factory=list)
    news: dict[int, MoneyNews] = field(default_factory=dict)


_outbox: ContextVar[_Outbox | None] = ContextVar("registration_outbox", default=None)
# The kinds of e-mail that say what became of the place, and so also of its money.
_CARRY_MONEY = ("cancelled", "event_cancelled")


@contextmanager
def one_email_each() -> Iterator[None]:
    """Hold the registration e-mails and refund news of one action, then send each person one
    e-mail: the news of their money goes into the e-mail that says what became of their place
    (or alone, if there is none). Sent even if the action fails part way: what was committed
    before stands and is told. Inside another one, the outer one sends."""
    if _outbox.get() is not None:
        yield
        return
    outbox = _Outbox()
    token = _outbox.set(outbox)
    try:
        yield
    finally:
        _outbox.reset(token)
        for notification in _last_words(outbox.notifications):
            if notification.kind in _CARRY_MONEY and notification.registration_id in outbox.news:
                news = outbox.news.pop(notification.registration_id)
                notification.extra["refund"] = _together(notification.extra.get("refund"), news)
            send_notification(notification)
        for registration_id, news in outbox.news.items():
            _send_refund_news(registration_id, news)


def _last_words(notifications: list) -> list:
    """The held e-mails without those that a later one of the same action makes moot: a place
    confirmed (its payment won the race) and then cancelled is told once, as cancelled."""
    final = {n.registration_id for n in notifications if n.kind in _CARRY_MONEY}
    kept = []
    for index, notification in enumerate(notifications):
        later = notifications[index + 1 :]
        moot = notification.registration_id in final and any(
            n.registration_id == notification.registration_id and n.kind in _CARRY_MONEY
            for n in later
        )
        if not moot:
            kept.append(notification)
    return kept


def _together(earlier: MoneyNews | None, news: MoneyNews) -> MoneyNews:
    """Two parts of one action's money (a payment that won the race, then the rest): one sum."""
    if earlier is None or earlier.currency != news.currency or earlier.failed or news.failed:
        return news
    news.refund_minor += earlier.refund_minor
    news.paid_minor = max(news.paid_minor, earlier.paid_minor)
    if earlier.share != news.share:
        news.share = None
    return news


def tell_refund(registration_id: int, news: MoneyNews) -> bool:
    """Tell the person what happens to their money: in the e-mail of the action under way
    (`one_email_each`), else at once in an e-mail of its own."""
    outbox = _outbox.get()
    if outbox is not None:
        outbox.news[registration_id] = _together(outbox.news.get(registration_id), news)
        return True
    return _send_refund_news(registration_id, news)


def _send_refund_news(registration_id: int, news: MoneyNews) -> bool:
    registration = db.session.get(Registration, registration_id)
    # A refund that could not be started is told by the action's own e-mail, never alone
    # under "Your payment is being refunded".
    if registration is None or news.failed or news.refund_minor <= 0:
        return False
    # A refund that takes the place away also takes it out of the person's calendar.
    parts = _extra_parts("cancelled", registration) if news.place == "cancelled" else ()
    return mail_registrant(
        registration,
        REFUND_SUBJECT,
        "events/refund",
        parts,
        reason=news.reason,
        amount_minor=news.refund_minor,
        currency=news.currency,
        refund=news,
    )


def last_attempt_failed(registration: Registration) -> bool:
    """Whether the newest payment of this registration failed (rather than ran out of time)."""
    orders = payments.orders_for("ticket", str(registration.id))
    return bool(orders) and orders[0].status == "failed"


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
    outbox = _outbox.get()
    if outbox is not None:
        outbox.notifications.append(notification)
        return True
    registration = db.session.get(Registration, notification.registration_id)
    if registration is None:
        log.warning("notification %s for a missing registration", notification)
        return False
    return send_registration_mail(notification.kind, registration, **notification.extra)


def send_registration_mail(kind: str, registration: Registration, **extra) -> bool:
    if kind == "hold_expired" and "payment_failed" not in extra:
        # A hold that ran out after a failed payment says so, not just "not in time".
        extra["payment_failed"] = last_attempt_failed(registration)
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
