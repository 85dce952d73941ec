"""The attendee list of an event: search and filters, answers, the CSV export for Excel, e-mails
to a chosen group, and the look-ups of the check-in desk."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from community.core.db import db
from community.core.errors import DomainError
from community.core.text import search_term
from community.events.models import REGISTRATION_STATUSES, Event, Question, Registration, TicketType

__all__ = [
    "AttendeeFilters",
    "answer_text",
    "attendees",
    "attendees_csv",
    "check_in_candidates",
    "check_in_counts",
    "clean_search",
    "email_attendees",
    "email_recipients",
    "find_ticket",
    "registration_of",
]


@dataclass(frozen=True)
class AttendeeFilters:
    search: str = ""
    status: str | None = None
    ticket_type: str | None = None

    @classmethod
    def from_args(cls, args) -> AttendeeFilters:
        status = args.get("status") or None
        return cls(
            search=clean_search(args.get("q"))[:100],
            status=status if status in REGISTRATION_STATUSES else None,
            ticket_type=clean_search(args.get("ticket_type"))[:60] or None,
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
        pattern = _contains(filters.search)
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


def _contains(search: str) -> str:
    # A search for "_" or "%" means those characters, not LIKE's wildcards.
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def registration_of(event: Event, registration_id: int) -> Registration | None:
    """One registration, only if it belongs to this event (ids in URLs are not trusted)."""
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
    """UTF-8 with a BOM and CRLF line ends: Excel in Japanese opens it with the right characters."""
    from community.core.dates import format_local

    questions = list(event.questions)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = [
        str(_l("Name")),
        str(_l("E-mail address")),
        str(_l("Status")),
        str(_l("Ticket type")),
        str(_l("Registered")),
        str(_l("Checked in")),
    ]
    writer.writerow(header + [_safe_cell(question.label) for question in questions])
    for registration in rows:
        answers = {answer.question_id: answer.value for answer in registration.answers}
        writer.writerow(
            [
                _safe_cell(registration.name),
                _safe_cell(registration.email),
                registration.status,
                registration.ticket_type.name,
                format_local(registration.created_at, event.timezone),
                format_local(registration.checked_in_at, event.timezone),
            ]
            + [
                _safe_cell(answer_text(q, answers[q.id], language)) if q.id in answers else ""
                for q in questions
            ]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _safe_cell(value: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def email_attendees(event: Event, rows: list[Registration], subject: str, body: str) -> int:
    """Send the organiser's message to each person in `rows` (already filtered by the caller)."""
    from community.core.mail import send_mail

    subject = (subject or "").strip()
    body = (body or "").strip()
    if not subject:
        raise DomainError(_l("Write a subject."), field="subject")
    if not body:
        raise DomainError(_l("Write a message."), field="body")
    sent = 0
    for registration in rows:
        if send_mail(
            registration.email,
            subject,
            "events/organiser_message",
            registration.locale,
            registration=registration,
            event=event,
            body=body,
        ):
            sent += 1
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
    search = clean_search(search)[:100]
    if not search:
        return []
    pattern = _contains(search)
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
    code = clean_search(code)[:64]
    if not code:
        return None
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.ticket_code == code
        )
    )
