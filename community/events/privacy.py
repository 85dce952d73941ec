"""What the events domain keeps about a person, for "download my data" and "delete my account".

Registered with accounts' `personal_data` hook from the events' `init_app` (accounts never
imports events). A deleted person's active registrations are cancelled (their places go to the
waiting list) and every registration they made loses their name, e-mail address and answers; the
rows stay, anonymised, for the records.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from community.accounts.models import User
from community.core.db import db
from community.events.models import ACTIVE, Answer, Registration
from community.events.services import cancel_registration


def _registrations_of(user: User) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(or_(Registration.user_id == user.id, Registration.email == user.email))
            .order_by(Registration.created_at)
        )
    )


def export_registrations(user: User) -> list[dict]:
    return [
        {
            "event": registration.event.slug,
            "event_title": registration.event.title,
            "ticket_type": registration.ticket_type.slug,
            "status": registration.status,
            "name": registration.name,
            "email": registration.email,
            "registered_at": registration.created_at.isoformat(),
            "checked_in_at": (
                registration.checked_in_at.isoformat() if registration.checked_in_at else None
            ),
            "answers": {
                (answer.question.label_en or answer.question.label_ja): answer.value
                for answer in registration.answers
            },
        }
        for registration in _registrations_of(user)
    ]


def erase_registrations(user: User) -> None:
    for registration_id in [r.id for r in _registrations_of(user) if r.status in ACTIVE]:
        # The person's own choice: what is left of a payment stays as the refund rules had it.
        cancel_registration(registration_id, by_organiser=True, refund_rest=False)
    for registration in _registrations_of(user):
        registration.name = ""
        registration.email = f"deleted-{registration.id}@deleted.invalid"
        registration.user_id = None
        db.session.execute(
            Answer.__table__.delete().where(Answer.registration_id == registration.id)
        )
