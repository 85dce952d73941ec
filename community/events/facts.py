"""What registering reads of an event: its window, its ticket types and its questions, as plain
frozen rows read by one query built once (services/registration.py decides with them; the price
rules of other domains are asked with them, offers.PriceQuestion). Loading the event, its ticket
types and its questions as ORM objects cost about a fifth of a registration's work; these hold
no session and load nothing behind anyone's back. They share their rules (the registration
window, the sale window, a question's options) with the models, whose mixins they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from community.core.db import db
from community.events.models import (
    Choices,
    Event,
    Question,
    RegistrationWindow,
    SaleWindow,
    TicketType,
)

__all__ = ["EventFacts", "QuestionFacts", "TicketFacts", "facts_of"]


@dataclass(frozen=True)
class TicketFacts(SaleWindow):
    """A ticket type as registering for it reads it (a plain row: no object of the session)."""

    id: int
    slug: str
    price_minor: int
    currency: str
    member_price_minor: int | None
    members_only: bool
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None


@dataclass(frozen=True)
class QuestionFacts(Choices):
    id: int
    kind: str
    required: bool
    options: list


@dataclass(frozen=True)
class EventFacts(RegistrationWindow):
    """What deciding a registration needs of its event (whether it is cancelled is asked again
    under the event's lock: it may have been, meanwhile)."""

    id: int
    slug: str
    status: str
    starts_at: datetime
    ends_at: datetime
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    ticket_types: tuple[TicketFacts, ...]
    questions: tuple[QuestionFacts, ...]


_events, _tickets, _questions = Event.__table__, TicketType.__table__, Question.__table__
_EVENT_FACTS = (
    select(
        _events.c.id,
        _events.c.slug,
        _events.c.status,
        _events.c.starts_at,
        _events.c.ends_at,
        _events.c.registration_opens_at,
        _events.c.registration_closes_at,
        *(_tickets.c[name].label(f"t_{name}") for name in TicketFacts.__dataclass_fields__),
        *(_questions.c[name].label(f"q_{name}") for name in QuestionFacts.__dataclass_fields__),
    )
    .select_from(
        _events.outerjoin(_tickets, _tickets.c.event_id == _events.c.id).outerjoin(
            _questions, _questions.c.event_id == _events.c.id
        )
    )
    .where(_events.c.slug == bindparam("slug"), _events.c.status.in_(("published", "cancelled")))
    .order_by(_tickets.c.position, _tickets.c.id, _questions.c.position, _questions.c.id)
)


def facts_of(slug: str) -> EventFacts | None:
    rows = db.session.execute(_EVENT_FACTS, {"slug": slug}).all()
    if not rows:
        return None
    tickets: dict[int, TicketFacts] = {}
    questions: dict[int, QuestionFacts] = {}
    for row in rows:  # one row per ticket type and question (the join's product)
        if row.t_id is not None and row.t_id not in tickets:
            tickets[row.t_id] = TicketFacts(
                *(row._mapping[f"t_{name}"] for name in TicketFacts.__dataclass_fields__)
            )
        if row.q_id is not None and row.q_id not in questions:
            questions[row.q_id] = QuestionFacts(
                *(row._mapping[f"q_{name}"] for name in QuestionFacts.__dataclass_fields__)
            )
    first = rows[0]
    return EventFacts(
        first.id,
        first.slug,
        first.status,
        first.starts_at,
        first.ends_at,
        first.registration_opens_at,
        first.registration_closes_at,
        tuple(tickets.values()),
        tuple(questions.values()),
    )
