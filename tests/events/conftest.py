"""Factories for the events tests: published events with ticket types and questions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from community.core.db import utcnow
from community.events import services
from community.events.services import EventData, QuestionData, TicketTypeData


@pytest.fixture
def organiser(make_user):
    return make_user(role="organiser", email="organiser@example.com", name="Olive Organiser")


@pytest.fixture
def make_event(app, organiser):
    """make_event(capacity=1, tickets=[...], questions=[...], publish=True, **EventData fields)."""
    counter = iter(range(1, 10_000))

    def factory(
        *,
        tickets: list[TicketTypeData] | None = None,
        questions: list[QuestionData] | None = None,
        publish: bool = True,
        by=None,
        **changes,
    ):
        number = next(counter)
        start = utcnow().replace(microsecond=0) + timedelta(days=10)
        values = {
            "slug": f"event-{number}",
            "kind": "event",
            "title_ja": f"イベント{number}",
            "title_en": f"Event {number}",
            "summary_en": "A test event",
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
            "capacity": 10,
            "venue_name": "Test Hall",
            "ticket_types": tickets
            or [TicketTypeData(slug="general", name_ja="一般", name_en="General")],
            "questions": questions or [],
        }
        values.update(changes)
        event = services.create_event(EventData(**values), by or organiser)
        if publish:
            services.publish_event(event)
        return event

    return factory


@pytest.fixture
def register(app):
    """register(event, n) → the registration for person n (person{n}@example.com)."""

    def do_register(event, number: int = 1, **changes):
        values = {
            "name": f"Guest {number}",
            "email": f"guest{number}@example.com",
            "language": "en",
        }
        values.update(changes)
        return services.register_for_event(event.slug, **values)

    return do_register
