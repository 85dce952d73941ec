"""Public event pages: lists with filters and pages, one event with the right button, the
registration form, and the private manage page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from community.core.db import db, utcnow
from community.events import services
from community.events.models import Registration
from community.events.services import QuestionData, TicketTypeData
from tests.conftest import count_queries, link_in, submit


def test_events_list_shows_upcoming_published_events_only(client, make_event):
    upcoming = make_event(title_en="Upcoming one")
    make_event(title_en="Secret draft", publish=False)
    start = utcnow() - timedelta(days=3)
    make_event(title_en="Long gone", starts_at=start, ends_at=start + timedelta(hours=1))
    html = client.get("/events").get_data(as_text=True)
    assert "Upcoming one" in html
    assert "Secret draft" not in html and "Long gone" not in html
    assert f'href="/events/{upcoming.slug}"' in html
    past = client.get("/events/past").get_data(as_text=True)
    assert "Long gone" in past and "Upcoming one" not in past


def test_events_list_filters_by_kind_format_and_language(client, make_event):
    make_event(title_en="A workshop", kind="workshop")
    make_event(title_en="An online talk", format="online", online_url="https://meet.example/x")
    make_event(title_en="English evening", language="en")
    html = client.get("/events?kind=workshop").get_data(as_text=True)
    assert "A workshop" in html and "An online talk" not in html
    html = client.get("/events?format=online").get_data(as_text=True)
    assert "An online talk" in html and "A workshop" not in html
    html = client.get("/events?language=en").get_data(as_text=True)
    assert "English evening" in html and "A workshop" not in html
    assert client.get("/events?kind=nonsense&format=%01&page=abc").status_code == 200


def test_events_list_is_paginated(client, make_event):
    for number in range(25):
        make_event(title_en=f"Paged event {number:02d}")
    first = client.get("/events").get_data(as_text=True)
    assert first.count('class="event-card') == 20
    assert 'rel="next"' in first
    second = client.get("/events?page=2").get_data(as_text=True)
    assert second.count('class="event-card') == 5
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_event_page_shows_places_left_per_ticket_type_and_the_right_button(
    client, make_event, register
):
    event = make_event(
        capacity=2,
        tickets=[
            TicketTypeData(slug="student", name_en="Student", quota=1),
            TicketTypeData(slug="general", name_en="General", price_minor=2000),
        ],
    )
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert ">Register</button>" in html
    assert "¥2,000" in html
    register(event, 1, ticket_type="student")
    register(event, 2, ticket_type="general")
    full = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert ">Join the waiting list</button>" in full


def test_cancelled_and_closed_events_show_no_form(client, make_event):
    cancelled = make_event()
    services.cancel_event(cancelled)
    html = client.get(f"/events/{cancelled.slug}").get_data(as_text=True)
    assert "This event is cancelled." in html and '<form method="post" action="/events/' not in html
    closed = make_event(registration_closes_at=utcnow() + timedelta(seconds=1))
    closed.registration_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "Registration is closed." in client.get(f"/events/{closed.slug}").get_data(as_text=True)


def test_draft_events_are_visible_only_to_their_organisers(client, make_event, make_user, login):
    draft = make_event(publish=False)
    assert client.get(f"/events/{draft.slug}").status_code == 404
    login(make_user(role="organiser"))
    assert client.get(f"/events/{draft.slug}").status_code == 404


def test_draft_is_visible_to_its_organiser(client, make_event, organiser, login):
    draft = make_event(publish=False)
    login(organiser)
    assert client.get(f"/events/{draft.slug}").status_code == 200


def test_guest_registers_through_the_form_and_manages_by_link(client, make_event, mailbox):
    event = make_event(
        capacity=1,
        questions=[QuestionData(kind="short_text", label_en="Company", required=True)],
    )
    question = event.questions[0]
    response = submit(
        client,
        f"/events/{event.slug}",
        {"name": "Gina Guest", "email": "gina@example.com", "ticket_type": "general",
         f"q_{question.id}": "ACME"},
        post_path=f"/events/{event.slug}/register",
    )  # fmt: skip
    assert response.status_code == 302
    manage_path = response.headers["Location"]
    assert re.fullmatch(r"/registrations/\d+/[0-9a-f]{32}", manage_path)
    page = client.get(manage_path)
    assert page.headers["X-Robots-Tag"] == "noindex"
    html = page.get_data(as_text=True)
    assert "Confirmed" in html and "Gina Guest" in html
    assert client.get(manage_path + "/ticket.svg").headers["Content-Type"] == "image/svg+xml"
    assert link_in(mailbox.last_to("gina@example.com"), "/registrations/").endswith(manage_path)


def test_manage_link_works_only_with_its_token(client, make_event, register):
    event = make_event()
    registration = register(event, 1)
    token = services.manage_token(registration)
    assert client.get(f"/registrations/{registration.id}/{token}").status_code == 200
    assert client.get(f"/registrations/{registration.id}/{'0' * 32}").status_code == 404
    assert client.get(f"/registrations/{registration.id + 1}/{token}").status_code == 404
    response = submit(
        client,
        f"/registrations/{registration.id}/{token}",
        {},
        post_path=f"/registrations/{registration.id}/{'f' * 32}/cancel",
    )
    assert response.status_code == 404
    assert db.session.get(Registration, registration.id, populate_existing=True).status == (
        "confirmed"
    )


def test_cancelling_on_the_manage_page_promotes_the_next_person(
    client, make_event, register, mailbox
):
    event = make_event(capacity=1)
    holder = register(event, 1)
    waiting = register(event, 2)
    path = f"/registrations/{holder.id}/{services.manage_token(holder)}"
    response = submit(client, path, {}, post_path=path + "/cancel")
    assert response.status_code == 302
    assert db.session.get(Registration, holder.id, populate_existing=True).status == "cancelled"
    assert db.session.get(Registration, waiting.id, populate_existing=True).status == "confirmed"
    assert "Your registration is cancelled." in client.get(path).get_data(as_text=True)


def test_the_form_answers_bad_input_with_field_errors_and_no_registration(client, make_event):
    event = make_event(
        questions=[QuestionData(kind="short_text", label_en="Company", required=True)]
    )
    response = submit(
        client,
        f"/events/{event.slug}",
        {"name": "", "email": "nope", "ticket_type": "nonexistent"},
        post_path=f"/events/{event.slug}/register",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter your name." in html and "Enter a valid e-mail address." in html
    assert "This question needs an answer." in html
    assert db.session.query(Registration).count() == 0


def test_registering_twice_gets_a_friendly_409(client, make_event, register):
    event = make_event()
    register(event, 1)
    response = submit(
        client,
        f"/events/{event.slug}",
        {"name": "Again", "email": "guest1@example.com", "ticket_type": "general"},
        post_path=f"/events/{event.slug}/register",
    )
    assert response.status_code == 409
    assert "already registered" in response.get_data(as_text=True)


def test_registering_for_a_cancelled_event_gets_410(client, make_event):
    event = make_event()
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    services.cancel_event(event)
    from tests.conftest import csrf_token_from

    response = client.post(
        f"/events/{event.slug}/register",
        data={"csrf_token": csrf_token_from(page), "name": "A", "email": "a@example.com",
              "ticket_type": "general"},
    )  # fmt: skip
    assert response.status_code == 410


def test_unknown_event_is_404(client):
    assert client.get("/events/no-such-event").status_code == 404
    assert client.post("/events/no-such-event/register").status_code in (400, 404)


# --- a fixed number of queries, whatever the number of events ------------------------------------


def _populate(make_event, register, count: int) -> str:
    slug = ""
    for number in range(count):
        event = make_event(
            tickets=[
                TicketTypeData(slug="a", name_en="A"),
                TicketTypeData(slug="b", name_en="B", price_minor=1000),
            ]
        )
        if number < 3:
            register(event, number, ticket_type="a")
        slug = event.slug
    return slug


@pytest.mark.parametrize("path", ["/events", "/events/past", "/", "SLUG"])
def test_public_pages_run_a_fixed_number_of_queries(client, make_event, register, path):
    counts = []
    for total in (10, 200):
        slug = _populate(make_event, register, total - (10 if counts else 0))
        target = f"/events/{slug}" if path == "SLUG" else path
        client.get(target)  # warm caches of compiled statements
        with count_queries() as statements:
            assert client.get(target).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 6, counts
