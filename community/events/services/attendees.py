"""The attendee list of an event: search and filters, answers, the CSV export for Excel, the
organiser's e-mails to a chosen group (previewed, then sent once, each person in their language),
and the check-in desk's look-ups and its undo. Checking in itself is in tickets.py."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

# Lazy, under the name pybabel's extraction knows to read with its context.
from flask_babel import lazy_pgettext as pgettext
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from community.core.dates import zone
from community.core.db import db, utcnow
from community.core.errors import Conflict, DomainError, NotFound
from community.core.i18n import localized
from community.core.mail import build_message, send_mail
from community.core.text import (
    MESSAGE_MAX,
    SEARCH_MAX,
    SHORT_SLUG_MAX,
    SUBJECT_MAX,
    TICKET_CODE_MAX,
    contains_pattern,
    is_clean_text,
    is_single_line,
    search_term,
    spreadsheet_cell,
    unix_lines,
)
from community.core.transaction import write_transaction
from community.events.messages import SEND_KEY_LENGTH, OrganiserMessage
from community.events.models import REGISTRATION_STATUSES, Event, Question, Registration, TicketType

log = logging.getLogger(__name__)

__all__ = [
    "REGISTRATION_STATUS_LABELS",
    "AttendeeFilters",
    "MessageAlreadySent",
    "MessageDraft",
    "MessagePreview",
    "MessageVersion",
    "answer_text",
    "attendees",
    "attendees_csv",
    "check_in_candidates",
    "check_in_counts",
    "check_message",
    "clean_search",
    "email_recipients",
    "find_ticket",
    "new_send_key",
    "preview_message",
    "recent_check_ins",
    "registration_of",
    "send_message_to_attendees",
    "undo_check_in",
]

# The words for each status, on the attendee list and in its export (in the reader's language).
REGISTRATION_STATUS_LABELS = {
    "confirmed": _l("Confirmed"),
    "awaiting_payment": _l("Awaiting payment"),
    "waitlisted": _l("Waiting list"),
    "offered": _l("Place offered"),
    # "Cancelled" alone is an event's (中止); a person's cancelled registration is キャンセル済み.
    "cancelled": pgettext("registration", "Cancelled"),
    "expired": _l("Expired"),
}
# Ids beyond a 32-bit integer cannot exist (and SQLite would refuse to compare them).
_LARGEST_ID = 2_147_483_647


@dataclass(frozen=True)
class AttendeeFilters:
    search: str = ""
    status: str | None = None
    ticket_type: str | None = None

    @classmethod
    def from_args(cls, args) -> AttendeeFilters:
        status = args.get("status") or None
        return cls(
            search=clean_search(args.get("q"))[:SEARCH_MAX],
            status=status if status in REGISTRATION_STATUSES else None,
            ticket_type=clean_search(args.get("ticket_type"))[:SHORT_SLUG_MAX] or None,
        )


def attendees(event: Event, filters: AttendeeFilters = AttendeeFilters()) -> list[Registration]:
    query = (
        select(Registration)
        .where(Registration.event_id == event.id)
        .options(selectinload(Registration.answers), selectinload(Registration.ticket_type))
        .order_by(Registration.queued_at, Registration.id)
    )
    if filters.status:
        query = query.where(Registration.status == filters.status)
    if filters.ticket_type:
        query = query.join(TicketType, TicketType.id == Registration.ticket_type_id).where(
            TicketType.slug == filters.ticket_type
        )
    if filters.search:
        pattern = contains_pattern(filters.search)
        query = query.where(
            or_(
                func.lower(Registration.name).like(pattern, escape="\\"),
                Registration.email.like(pattern, escape="\\"),
            )
        )
    return list(db.session.scalars(query))


def clean_search(text: str | None) -> str:
    """A search term as typed, without control characters."""
    return search_term(text)


def registration_of(event: Event, registration_id: int) -> Registration | None:
    """One registration, only if it belongs to this event (ids in URLs are not trusted)."""
    if not 0 < registration_id <= _LARGEST_ID:
        return None
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        return None
    return registration


def email_recipients(
    event: Event, filters: AttendeeFilters = AttendeeFilters()
) -> list[Registration]:
    """Who an e-mail to "everyone" (or to a filtered group) reaches.

    Without a status filter, people who cancelled or whose place expired are left out: they are
    no longer part of the event. Choosing such a status on purpose still reaches them.
    """
    rows = attendees(event, filters)
    if filters.status:
        return rows
    return [registration for registration in rows if registration.is_active]


def answer_text(question: Question, value: str, language: str) -> str:
    if question.kind == "multiple_choice":
        try:
            values = json.loads(value)
        except ValueError:
            values = [value]
        return ", ".join(question.option_label(str(v), language) for v in values)
    if question.kind == "single_choice":
        return question.option_label(value, language)
    return value


def attendees_csv(event: Event, rows: list[Registration], language: str) -> bytes:
    """The list for Excel and Google Sheets, in the organiser's `language`.

    UTF-8 with a BOM and CRLF line ends: Excel in Japanese opens it with the right characters.
    Statuses are the words the list shows; times are `YYYY-MM-DD HH:MM` in the event's zone (named
    in the header), which spreadsheets read as dates, where an ISO "T" or an offset stays text.
    What people typed (names, answers, ticket names) is defused against formulas.
    """
    tz = zone(event.timezone)
    questions = list(event.questions)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with force_locale(language):
        writer.writerow(
            [
                str(_l("Name")),
                str(_l("E-mail address")),
                str(_l("Status")),
                str(_l("Ticket type")),
                str(_l("Registered (%(zone)s)", zone=tz.key)),
                str(_l("Checked in (%(zone)s)", zone=tz.key)),
            ]
            + [spreadsheet_cell(localized(question, "label", language)) for question in questions]
        )
        for registration in rows:
            answers = {answer.question_id: answer.value for answer in registration.answers}
            status = REGISTRATION_STATUS_LABELS.get(registration.status, registration.status)
            writer.writerow(
                [
                    spreadsheet_cell(registration.name),
                    spreadsheet_cell(registration.email),
                    str(status),
                    spreadsheet_cell(localized(registration.ticket_type, "name", language)),
                    _spreadsheet_time(registration.created_at, tz),
                    _spreadsheet_time(registration.checked_in_at, tz),
                ]
                + [
                    spreadsheet_cell(answer_text(q, answers[q.id], language))
                    if q.id in answers
                    else ""
                    for q in questions
                ]
            )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _spreadsheet_time(moment: datetime | None, tz) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


# --- e-mails from the organiser ------------------------------------------------------------------

LANGUAGES = ("ja", "en")
_SEND_KEY = re.compile(rf"^[0-9a-f]{{{SEND_KEY_LENGTH}}}$")


class MessageAlreadySent(Conflict):
    """The same confirmed message (its send key) was sent before: nothing is sent again."""


@dataclass(frozen=True)
class MessageDraft:
    """What the organiser wrote: a subject and a body in Japanese, in English, or in both."""

    subject_ja: str = ""
    body_ja: str = ""
    subject_en: str = ""
    body_en: str = ""

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages with a version, Japanese first."""
        return tuple(language for language in LANGUAGES if self.subject(language))

    def subject(self, language: str) -> str:
        return getattr(self, f"subject_{language}")

    def body(self, language: str) -> str:
        return getattr(self, f"body_{language}")

    def language_for(self, wanted: str) -> str:
        """The version a person who reads `wanted` gets: theirs, or else the one there is."""
        languages = self.languages
        return wanted if wanted in languages else languages[0]


def check_message(draft: MessageDraft) -> MessageDraft:
    """The draft tidied (trimmed, LF line ends), or a DomainError naming the field to fix."""
    tidy = {}
    for language in LANGUAGES:
        subject = (draft.subject(language) or "").strip()
        body = unix_lines(draft.body(language)).strip()
        if not is_single_line(subject) or len(subject) > SUBJECT_MAX:
            raise DomainError(
                _l("A subject is one line of at most 200 characters."), field=f"subject_{language}"
            )
        if not is_clean_text(body) or len(body) > MESSAGE_MAX:
            raise DomainError(
                _l("Remove the control characters from this field."), field=f"body_{language}"
            )
        if body and not subject:
            raise DomainError(_l("Write a subject."), field=f"subject_{language}")
        if subject and not body:
            raise DomainError(_l("Write a message."), field=f"body_{language}")
        tidy[f"subject_{language}"], tidy[f"body_{language}"] = subject, body
    checked = MessageDraft(**tidy)
    if not checked.languages:
        raise DomainError(_l("Write the message in Japanese, in English, or in both."))
    return checked


@dataclass(frozen=True)
class MessageVersion:
    language: str
    subject: str
    # The e-mail's text part exactly as it goes out, with a placeholder for each person's name.
    text: str
    # How many of the recipients get this version.
    recipients: int


@dataclass(frozen=True)
class MessagePreview:
    draft: MessageDraft
    recipients: int
    versions: list[MessageVersion] = field(default_factory=list)


@dataclass(frozen=True)
class _Addressee:
    """Who the e-mail template greets (a registration, or the preview's placeholder)."""

    name: object


def _version_counts(draft: MessageDraft, rows: list[Registration]) -> Counter:
    return Counter(draft.language_for(registration.locale) for registration in rows)


def preview_message(event: Event, filters: AttendeeFilters, draft: MessageDraft) -> MessagePreview:
    """Each version rendered by the e-mail's own template, and who gets which; sends nothing."""
    draft = check_message(draft)
    counts = _version_counts(draft, email_recipients(event, filters))
    versions = []
    for language in draft.languages:
        message = build_message(
            "preview@example.invalid",
            draft.subject(language),
            "events/organiser_message",
            language,
            registration=_Addressee(name=_l("(their name)")),
            event=event,
            body=draft.body(language),
        )
        text = message.get_body(preferencelist=("plain",)).get_content()
        versions.append(
            MessageVersion(language, str(message["Subject"]), text.rstrip(), counts[language])
        )
    return MessagePreview(draft=draft, recipients=sum(counts.values()), versions=versions)


def new_send_key() -> str:
    """The key a preview hands to its "Send" button: the message goes out once per key."""
    return secrets.token_hex(SEND_KEY_LENGTH // 2)


def send_message_to_attendees(
    event: Event,
    filters: AttendeeFilters,
    draft: MessageDraft,
    send_key: str,
    sent_by=None,
) -> int:
    """Send the confirmed message to the group, each person the version in their registration's
    language (or the other when only one was written). Returns how many e-mails went out.

    The record (unique per event and send key) and the e-mails are written to the outbox in one
    transaction: of two confirmations of one preview (a double click, a reload, two tabs) one
    sends and the other gets MessageAlreadySent, on every database and process, and a request
    that dies part way sends nothing and uses up no key. The group is read in that same
    transaction, so the record says whom it was for.
    """
    draft = check_message(draft)
    if not _SEND_KEY.match(send_key or ""):
        raise DomainError(_l("This preview is no longer valid. Preview the message again."))
    event_id = event.id
    try:
        with write_transaction():
            rows = email_recipients(db.session.get(Event, event_id), filters)
            if not rows:
                raise DomainError(_l("Nobody is in this group: there is nobody to send it to."))
            record = OrganiserMessage(
                event_id=event_id,
                sent_by_user_id=getattr(sent_by, "id", None),
                send_key=send_key,
                recipients=len(rows),
                sent=0,
                **{
                    f"{part}_{language}": getattr(draft, f"{part}_{language}")
                    for part in ("subject", "body")
                    for language in LANGUAGES
                },
            )
            db.session.add(record)
            db.session.flush()
            event = db.session.get(Event, event_id)
            for registration in rows:
                language = draft.language_for(registration.locale)
                if send_mail(
                    registration.email,
                    draft.subject(language),
                    "events/organiser_message",
                    language,
                    registration=_Addressee(name=registration.name),
                    event=event,
                    body=draft.body(language),
                ):
                    record.sent += 1
            sent = record.sent
    except IntegrityError as error:
        raise MessageAlreadySent(
            _l("This message was already sent. It was not sent again.")
        ) from error
    return sent


# --- check-in ------------------------------------------------------------------------------------


def check_in_counts(event: Event) -> tuple[int, int]:
    """(checked in, confirmed) for the door's counter."""
    checked_in, confirmed = db.session.execute(
        select(
            func.count(Registration.checked_in_at),
            func.count(Registration.id),
        ).where(Registration.event_id == event.id, Registration.status == "confirmed")
    ).one()
    return checked_in, confirmed


def check_in_candidates(event: Event, search: str, limit: int = 50) -> list[Registration]:
    """Confirmed attendees whose name or e-mail contains `search`, or whose ticket code it is."""
    search = clean_search(search)[:SEARCH_MAX]
    if not search:
        return []
    pattern = contains_pattern(search)
    query = (
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == "confirmed",
            or_(
                func.lower(Registration.name).like(pattern, escape="\\"),
                Registration.email.like(pattern, escape="\\"),
                Registration.ticket_code == search,
            ),
        )
        .options(selectinload(Registration.ticket_type))
        .order_by(Registration.name, Registration.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def find_ticket(event: Event, code: str) -> Registration | None:
    """The registration (any status) that holds this ticket code for this event."""
    code = clean_search(code)[:TICKET_CODE_MAX]
    if not code:
        return None
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.ticket_code == code
        )
    )


def recent_check_ins(event: Event, limit: int = 5) -> list[Registration]:
    """The latest people checked in, newest first: where a mistake at the door is undone."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event.id, Registration.checked_in_at.is_not(None))
            .options(selectinload(Registration.ticket_type))
            .order_by(Registration.checked_in_at.desc(), Registration.id.desc())
            .limit(limit)
        )
    )


def undo_check_in(event: Event, registration_id: int) -> Registration:
    """Take back a check-in made by mistake.

    A conditional UPDATE in a write transaction of its own: of two undos at once, or an undo and
    a check-in, each sees the other's result and the row ends in one state. Undoing someone who
    is not checked in (any more) is a Conflict with a message, and changes nothing.
    """
    registration = registration_of(event, registration_id)
    if registration is None:
        raise NotFound(_l("There is no such registration for this event."))
    with write_transaction():
        undone = db.session.execute(
            update(Registration)
            .where(
                Registration.id == registration_id,
                Registration.event_id == event.id,
                Registration.checked_in_at.is_not(None),
            )
            .values(checked_in_at=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    db.session.refresh(registration)
    if undone.rowcount != 1:
        raise Conflict(
            _l(
                "%(name)s is not checked in: there is nothing to undo.",
                name=registration.name,
            )
        )
    return registration
