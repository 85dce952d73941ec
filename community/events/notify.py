"""E-mails to registrants, in each one's language: what happened to their registration, with
their manage link (and the online link once they have a confirmed place), and what happens to
their money.

The engine tells (`send_notification`, `tell_refund`) inside the transaction that made the
change: each becomes a notice in the mail outbox (core/outbox.py), written in that transaction,
and rendered into an e-mail only when the outbox delivers it (`render_notices`).

One action, one e-mail per person: inside `one_email_each()` the notices of an action (a
cancellation and the refund it starts, over several transactions) form one outbox batch,
rendered together once the action ends; the news of the money goes into the e-mail that says
what happened to the place.

Domains built on this one add parts to these e-mails (the calendar's invitations) through
`mail_parts`: events never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from email.errors import MessageError
from email.message import EmailMessage

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from community.core import outbox
from community.core.db import db
from community.core.hooks import Hook
from community.core.mail import Attachment, build_message
from community.core.urls import external_url
from community.events.links import manage_url
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
# The outbox's name for the notices rendered here.
NOTICES = "events"


@dataclass
class Notification:
    """One registration e-mail to send: what happened (`kind`, a key of SUBJECTS) and details
    for its template (`extra`: plain values, and MoneyNews under "refund")."""

    kind: str
    registration_id: int
    extra: dict = field(default_factory=dict)


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


# The kinds of e-mail that say what became of the place, and so also of its money.
_CARRY_MONEY = ("cancelled", "event_cancelled")


# --- telling: notices written in the caller's transaction ----------------------------------------


@contextmanager
def one_email_each() -> Iterator[None]:
    """Hold the registration e-mails and refund news of one action, then send each person one
    e-mail: the news of their money goes into the e-mail that says what became of their place
    (or alone, if there is none). What was committed before a failure stands and is told (and
    if the process dies, the outbox renders the batch after a while all the same). Inside
    another one, the outer one decides."""
    with outbox.batch():
        yield


def send_notification(notification: Notification) -> bool:
    extra = {
        key: {"money": asdict(value)} if isinstance(value, MoneyNews) else value
        for key, value in notification.extra.items()
    }
    outbox.enqueue_notice(
        NOTICES,
        {
            "notice": "registration",
            "kind": notification.kind,
            "registration_id": notification.registration_id,
            "extra": extra,
        },
    )
    return True


def tell_refund(registration_id: int, news: MoneyNews) -> bool:
    """Tell the person what happens to their money: in the e-mail of the action under way
    (`one_email_each`), else in an e-mail of its own. False when there is nothing to tell alone
    (a refund that could not be started is told by the action's own e-mail)."""
    if not outbox.in_batch() and (news.failed or news.refund_minor <= 0):
        return False
    outbox.enqueue_notice(
        NOTICES, {"notice": "refund", "registration_id": registration_id, "news": asdict(news)}
    )
    return True


# --- rendering: when the outbox delivers ---------------------------------------------------------


def read_ahead(payloads: list[dict]) -> list[Registration]:
    """A round's registrations, with their events and ticket types, in one query (the outbox's
    notice_prefetch): each e-mail would otherwise read its registration by itself."""
    ids = {int(p["registration_id"]) for p in payloads if "registration_id" in p}
    if not ids:
        return []
    return list(db.session.scalars(_READ_AHEAD, {"ids": sorted(ids)}))


_READ_AHEAD = (
    select(Registration)
    .where(Registration.id.in_(bindparam("ids", expanding=True)))
    .options(joinedload(Registration.event), joinedload(Registration.ticket_type))
)


def render_notices(payloads: list[dict]) -> list[EmailMessage]:
    """The e-mails of one action's notices (or of one notice alone), in the order told."""
    notifications: list[Notification] = []
    news: dict[int, MoneyNews] = {}
    for payload in payloads:
        if payload.get("notice") == "refund":
            told = MoneyNews(**payload["news"])
            registration_id = int(payload["registration_id"])
            news[registration_id] = _together(news.get(registration_id), told)
            continue
        extra = {
            key: MoneyNews(**value["money"]) if isinstance(value, dict) and "money" in value
            else value
            for key, value in (payload.get("extra") or {}).items()
        }  # fmt: skip
        notifications.append(Notification(payload["kind"], int(payload["registration_id"]), extra))
    messages: list[EmailMessage | None] = []
    for notification in _last_words(notifications):
        if notification.kind in _CARRY_MONEY and notification.registration_id in news:
            told = news.pop(notification.registration_id)
            notification.extra["refund"] = _together(notification.extra.get("refund"), told)
        messages.append(_notification_message(notification))
    for registration_id, told in news.items():
        messages.append(_refund_news_message(registration_id, told))
    return [message for message in messages if message is not None]


def _last_words(notifications: list) -> list:
    """The notices of one action without those that its cancelling a place makes moot: a place
    confirmed (its payment won the race) and cancelled is told once, as cancelled."""
    final = {n.registration_id for n in notifications if n.kind in _CARRY_MONEY}
    return [n for n in notifications if n.kind in _CARRY_MONEY or n.registration_id not in final]


def _together(earlier: MoneyNews | None, news: MoneyNews) -> MoneyNews:
    """Two parts of one action's money (a payment that won the race, then the rest): one sum."""
    if earlier is None or earlier.currency != news.currency or earlier.failed or news.failed:
        return news
    news.refund_minor += earlier.refund_minor
    news.paid_minor = max(news.paid_minor, earlier.paid_minor)
    if earlier.share != news.share:
        news.share = None
    return news


def _refund_news_message(registration_id: int, news: MoneyNews) -> EmailMessage | None:
    registration = db.session.get(Registration, registration_id)
    # A refund that could not be started is told by the action's own e-mail, never alone
    # under "Your payment is being refunded".
    if registration is None or news.failed or news.refund_minor <= 0:
        return None
    # A refund that takes the place away also takes it out of the person's calendar.
    parts = _extra_parts("cancelled", registration) if news.place == "cancelled" else ()
    return registrant_message(
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


# (kind, registration) → the further parts of that e-mail, or None. A domain registers its
# parts from its init_app (`mail_parts.register(app, "calendar", calendar_parts)`).
MailParts = Callable[[str, Registration], Iterable[Attachment] | None]
mail_parts: Hook[MailParts] = Hook("events.mail_parts")


def _extra_parts(kind: str, registration: Registration) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for name, parts in mail_parts.items():
        try:
            found.extend(parts(kind, registration) or ())
        except Exception:
            # The e-mail says what happened to the person's place: it goes without the extra
            # parts rather than not at all, and the log says why.
            log.exception(
                "%s parts for a %r e-mail to registration %s", name, kind, registration.id
            )
    return tuple(found)


def _notification_message(notification: Notification) -> EmailMessage | None:
    registration = db.session.get(Registration, notification.registration_id)
    if registration is None:
        log.warning("notification %s for a missing registration", notification)
        return None
    return registration_message(notification.kind, registration, **notification.extra)


def registration_message(kind: str, registration: Registration, **extra) -> EmailMessage | None:
    if kind == "hold_expired" and "payment_failed" not in extra:
        # A hold that ran out after a failed payment says so, not just "not in time".
        extra["payment_failed"] = last_attempt_failed(registration)
    return registrant_message(
        registration,
        SUBJECTS[kind],
        "events/registration",
        _extra_parts(kind, registration),
        kind=kind,
        **extra,
    )


def registrant_message(
    registration: Registration,
    subject,
    template: str,
    attachments: tuple[Attachment, ...] = (),
    **extra,
) -> EmailMessage | None:
    """One e-mail to the person who registered, in their language: `subject` is a lazy string
    with `%(title)s`; the template gets the registration, event, title and both links. None
    (logged) if it cannot be built: the other e-mails of the action still go."""
    event: Event = registration.event
    language = registration.locale
    title = getattr(event, f"title_{language}", "") or event.title_ja or event.title_en
    try:
        return build_message(
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
    except (ValueError, TypeError, MessageError) as error:
        log.error("could not build %r for registration %s: %s", template, registration.id, error)
        return None


class _Formatted:
    """A lazily translated subject with its values, rendered in the recipient's locale."""

    def __init__(self, lazy, **values) -> None:
        self.lazy = lazy
        self.values = values

    def __str__(self) -> str:
        return str(self.lazy) % self.values
