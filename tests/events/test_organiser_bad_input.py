"""Junk sent to the organisers' forms and pages gets a clear refusal (422 or a message), changes
nothing and never answers 500 — on SQLite and on PostgreSQL, which refuses NUL characters and
numbers beyond 32 bits that SQLite would store."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.core.db import db
from community.events.models import Event
from tests.conftest import submit
from tests.events.test_organiser import (  # noqa: F401 - the *_fixture names are fixtures
    event_form,
    make_event_fixture,
    organiser_fixture,
    register,
    token,
    uploads_fixture,
)

JUNK = {
    "nothing": dict.fromkeys(event_form(), ""),
    "huge-numbers": {"capacity": "99999999999999999999", "cancel_deadline_hours": "99999999999"},
    "huge-deadline": {"cancel_deadline_hours": "9999999"},
    "huge-price": {"ticket_types-0-price": "999999999999"},
    "huge-quota": {"ticket_types-0-quota": "99999999999999999999"},
    "nul": {"title_en": "a\x01b", "venue_name": "\x01", "questions-1-label_en": "\x01"},
    "nul-in-dates": {"starts_at": "\x01", "timezone": "Asia/Tokyo\x01"},
    "far-years": {"starts_at": "0001-01-01T00:00", "ends_at": "9999-12-31T23:59"},
    "unknown-choices": {
        "kind": "party",
        "format": "x",
        "language": "xx",
        "category": "nope",
        "ticket_types-0-currency": "XXX",
        "questions-0-kind": "essay",
    },
    "path-as-zone": {"timezone": "../../etc/passwd"},
    "negative-quota": {"ticket_types-0-quota": "-1"},
    "bad-slug": {"slug": "Bad Slug!"},
    "two-values": {"title_en": ["a", "b"], "capacity": ["1", "2"]},
    "same-ticket-twice": {"ticket_types-1-slug": "general"},
    "script-link": {"materials_url": "javascript:alert(1)"},
    "long-title": {"title_en": "x" * 500},
    "no-tickets": {
        f"ticket_types-{row}-{name}": ""
        for row in range(2)
        for name in ("slug", "name_ja", "name_en", "price", "quota", "member_price", "sale_ends_at")
    },
    "member-price-above-price": {"ticket_types-1-member_price": "99"},
    "sale-ends-before-it-starts": {"ticket_types-1-sale_starts_at": "2030-01-10T00:00"},
    "registration-closes-before-it-opens": {
        "registration_opens_at": "2030-01-05T10:00",
        "registration_closes_at": "2030-01-04T10:00",
    },
}


@pytest.mark.parametrize("change", JUNK.values(), ids=JUNK.keys())
def test_junk_on_the_new_event_form_is_refused_and_creates_nothing(
    client, login, organiser, change
):
    login(organiser)
    response = submit(client, "/organiser/events/new", event_form(**change))
    assert response.status_code == 422, response.status_code
    assert 'class="form-errors"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


# An event's address never changes: the edit form ignores the slug it is sent.
EDIT_JUNK = {name: change for name, change in JUNK.items() if name != "bad-slug"}


@pytest.mark.parametrize("change", EDIT_JUNK.values(), ids=EDIT_JUNK.keys())
def test_junk_on_the_edit_form_is_refused_and_changes_nothing(
    client, login, organiser, make_event, change
):
    event = make_event()
    before = (event.title_en, event.capacity, event.starts_at, event.sequence, event.updated_at)
    login(organiser)
    response = submit(client, f"/organiser/events/{event.slug}/edit", event_form(**change))
    assert response.status_code == 422, response.status_code
    after = (event.title_en, event.capacity, event.starts_at, event.sequence, event.updated_at)
    assert after == before
    assert [ticket.slug for ticket in event.ticket_types] == ["general"]


def test_junk_in_the_attendee_and_check_in_addresses_never_answers_500(
    client, login, organiser, make_event
):
    event = make_event()
    ann = register(event, "Ann", "ann@example.com")
    login(organiser)
    base = f"/organiser/events/{event.slug}"
    for path in (
        f"{base}/attendees?q=%01&status=%01&ticket_type=%01",
        f"{base}/attendees?q={'x' * 5000}&status=confirmed&status=waitlisted",
        f"{base}/attendees.csv?q=%01%02&ticket_type=%FF",
        f"{base}/check-in?q=%01&code=%01",
        f"{base}/check-in?code={'x' * 5000}",
    ):
        assert client.get(path).status_code == 200, path
    response = submit(client, f"{base}/check-in", {"code": "\x01"}, follow_redirects=True)
    assert response.status_code == 200
    assert "There is no such ticket for this event." in response.get_data(as_text=True)
    assert ann.checked_in_at is None
    for path in (f"{base}/attendees/999999/cancel", f"{base}/attendees/999999/promote"):
        assert client.post(path, data={"csrf_token": token(client)}).status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"subject_en": "Hello\r\nBcc: everyone@example.com", "body_en": "Hi"},
        {"subject_en": "Hello", "body_en": "Hi\x01"},
        {"subject_en": "x" * 500, "body_en": "Hi"},
        {"subject_en": ["a", "b"], "body_en": ""},
    ],
    ids=["header-injection", "nul", "long-subject", "lists"],
)
def test_junk_e_mails_to_attendees_are_refused_and_send_nothing(
    client, login, organiser, make_event, mailbox, data
):
    event = make_event()
    register(event, "Ann", "ann@example.com")
    login(organiser)
    mailbox.clear()
    response = submit(
        client,
        f"/organiser/events/{event.slug}/attendees",
        data,
        post_path=f"/organiser/events/{event.slug}/attendees/email",
    )
    assert response.status_code == 422
    # Nor straight to "Send", past the preview.
    response = submit(
        client,
        f"/organiser/events/{event.slug}/attendees",
        {**data, "send_key": "a" * 32},
        post_path=f"/organiser/events/{event.slug}/attendees/email/send",
    )
    assert response.status_code == 422
    assert mailbox.messages == []


def test_a_cancellation_message_with_control_characters_is_refused(
    client, login, organiser, make_event, mailbox
):
    event = make_event()
    register(event, "Ann", "ann@example.com")
    login(organiser)
    mailbox.clear()
    response = submit(client, f"/organiser/events/{event.slug}/cancel", {"message": "Sorry\x01"})
    assert response.status_code == 422
    assert event.status == "published"
    assert mailbox.messages == []
