"""The organisers' back office: who may see and change which event, creating and editing events
(with ticket types, questions and a cover image), bad input, publishing, cancelling, duplicating,
the attendee list, its CSV export, e-mails to attendees, promotion by hand and check-in.

Registrations are made through the registration service on events made through the management
services, on the real databases; pages are driven with CSRF on.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from community.core.db import db
from community.events import services
from community.events.models import Event, Registration
from community.events.services import EventData, QuestionData, TicketTypeData
from tests.conftest import csrf_token_from, submit, text_of

STARTS = datetime(2030, 1, 10, 10, 0, tzinfo=UTC)  # 19:00 in Tokyo
ENDS = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# Named fixtures, so that other test modules can import them without shadowing warnings.
@pytest.fixture(name="uploads", autouse=True)
def uploads_fixture(app, tmp_path):
    """Cover images go to this test's own directory, never to the project's instance/."""
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads" / "events"


@pytest.fixture(name="organiser")
def organiser_fixture(make_user):
    return make_user(role="organiser", name="Olga Organiser")


@pytest.fixture(name="make_event")
def make_event_fixture(organiser):
    counter = iter(range(1, 1000))

    def factory(owner=None, publish=True, capacity=10, tickets=None, questions=None, **fields):
        number = next(counter)
        data = EventData(
            slug=fields.pop("slug", f"event-{number}"),
            kind="event",
            title_ja=f"イベント {number}",
            title_en=f"Event {number}",
            starts_at=STARTS,
            ends_at=ENDS,
            capacity=capacity,
            venue_name="Shibuya Hall",
            ticket_types=tickets or [TicketTypeData(slug="general", name_en="General")],
            questions=questions or [],
            **fields,
        )
        event = services.create_event(data, owner or organiser)
        if publish:
            services.publish_event(event)
        return event

    return factory


def register(event, name, email, **kwargs):
    return services.register_for_event(
        event.slug, name=name, email=email, language=kwargs.pop("language", "en"), **kwargs
    )


def token(client) -> str:
    return csrf_token_from(client.get("/organiser/").get_data(as_text=True))


def event_form(**overrides) -> dict:
    """What a browser sends from the event form, filled in for a valid event."""
    data = {
        "slug": "mentoring-night",
        "kind": "event",
        "title_ja": "メンタリングの夜",
        "title_en": "Mentoring night",
        "summary_en": "Meet mentors.",
        "description_en": "**Bring** questions.",
        "category": "",
        "format": "in_person",
        "venue_name": "Shibuya Hall",
        "venue_address": "1-1 Shibuya",
        "timezone": "Asia/Tokyo",
        "starts_at": "2030-01-10T19:00",
        "ends_at": "2030-01-10T21:00",
        "language": "ja_en",
        "capacity": "30",
        "registration_opens_at": "",
        "registration_closes_at": "",
        "cancel_deadline_hours": "24",
        "ticket_types-0-slug": "general",
        "ticket_types-0-name_ja": "一般",
        "ticket_types-0-name_en": "General",
        "ticket_types-0-price": "0",
        "ticket_types-0-currency": "JPY",
        "ticket_types-0-quota": "",
        "ticket_types-1-slug": "supporter",
        "ticket_types-1-name_en": "Supporter",
        "ticket_types-1-price": "12.50",
        "ticket_types-1-currency": "USD",
        "ticket_types-1-quota": "5",
        "ticket_types-1-member_price": "10",
        "ticket_types-1-sale_ends_at": "2030-01-09T23:59",
        "ticket_types-2-slug": "",
        "ticket_types-2-currency": "JPY",
        "questions-0-kind": "single_choice",
        "questions-0-label_en": "Food",
        "questions-0-label_ja": "食事",
        "questions-0-required": "y",
        "questions-0-options": "veg|ベジタリアン|Vegetarian\nany|なんでも|Anything",
        "questions-1-kind": "short_text",
        "questions-1-label_en": "Your company",
        "questions-2-kind": "short_text",
        "questions-3-kind": "short_text",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


# --- who may see what ----------------------------------------------------------------------------


def organiser_routes(slug: str, registration_id: int) -> list[tuple[str, str]]:
    base = f"/organiser/events/{slug}"
    return [
        ("GET", f"{base}/edit"),
        ("POST", f"{base}/edit"),
        ("POST", f"{base}/publish"),
        ("GET", f"{base}/cancel"),
        ("POST", f"{base}/cancel"),
        ("POST", f"{base}/duplicate"),
        ("GET", f"{base}/attendees"),
        ("GET", f"{base}/attendees.csv"),
        ("POST", f"{base}/attendees/email"),
        ("POST", f"{base}/attendees/email/edit"),
        ("POST", f"{base}/attendees/email/send"),
        ("POST", f"{base}/attendees/{registration_id}/cancel"),
        ("POST", f"{base}/attendees/{registration_id}/promote"),
        ("GET", f"{base}/check-in"),
        ("GET", f"{base}/check-in?code=x"),
        ("POST", f"{base}/check-in"),
        ("POST", f"{base}/check-in/{registration_id}/undo"),
    ]


def test_an_organiser_gets_404_on_every_page_and_action_of_another_organisers_event(
    client, login, make_user, make_event, mailbox
):
    other = make_user(role="organiser")
    event = make_event(owner=other, capacity=1)
    register(event, "Ann", "ann@example.com")
    waiting = register(event, "Ben", "ben@example.com")
    draft = make_event(owner=other, publish=False)
    login(make_user(role="organiser"))
    csrf = token(client)
    mailbox.clear()
    for target in (event, draft):
        for method, path in organiser_routes(target.slug, waiting.id):
            data = {
                "csrf_token": csrf,
                "subject_en": "Hi",
                "body_en": "Hi",
                "send_key": "a" * 32,
                "code": "x",
            }
            response = client.get(path) if method == "GET" else client.post(path, data=data)
            assert response.status_code == 404, (method, path, response.status_code)
    assert event.status == "published" and draft.status == "draft"
    assert waiting.status == "waitlisted"
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2
    assert mailbox.messages == []
    assert "Event 1" not in client.get("/organiser/").get_data(as_text=True)


def test_an_organiser_cannot_touch_a_registration_of_another_event_through_their_own(
    client, login, organiser, make_user, make_event
):
    mine = make_event()
    theirs = make_event(owner=make_user(role="organiser"))
    stranger = register(theirs, "Stranger", "stranger@example.com")
    login(organiser)
    response = client.post(
        f"/organiser/events/{mine.slug}/attendees/{stranger.id}/cancel",
        data={"csrf_token": token(client)},
    )
    assert response.status_code == 404
    assert stranger.status == "confirmed"


def test_a_member_gets_403_on_every_organiser_route(client, login, make_user, make_event):
    event = make_event()
    registration = register(event, "Ann", "ann@example.com")
    login(make_user(role="member"))
    csrf = csrf_token_from(client.get("/").get_data(as_text=True))
    for method, path in [("GET", "/organiser/events/new"), *organiser_routes(event.slug, 1)]:
        response = (
            client.get(path) if method == "GET" else client.post(path, data={"csrf_token": csrf})
        )
        assert response.status_code == 403, (method, path)
    assert registration.status == "confirmed" and event.status == "published"


def test_an_anonymous_visitor_is_sent_to_log_in_from_every_organiser_route(client, make_event):
    event = make_event()
    for method, path in [("GET", "/organiser/events/new"), *organiser_routes(event.slug, 1)]:
        if method == "POST":
            continue  # without a session there is no CSRF token: the POST is refused earlier
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/account/login?next=")


def test_an_admin_sees_and_manages_every_event(client, login, make_user, make_event):
    event = make_event(owner=make_user(role="organiser"))
    register(event, "Ann", "ann@example.com")
    login(make_user(role="admin"))
    assert event.title_en in client.get("/organiser/").get_data(as_text=True)
    assert client.get(f"/organiser/events/{event.slug}/edit").status_code == 200
    assert "ann@example.com" in client.get(f"/organiser/events/{event.slug}/attendees").get_data(
        as_text=True
    )


def test_the_dashboard_shows_fill_rate_and_waiting_list_length(
    client, login, organiser, make_event
):
    event = make_event(capacity=2)
    for number in range(5):
        register(event, f"Person {number}", f"p{number}@example.com")
    login(organiser)
    html = client.get("/organiser/").get_data(as_text=True)
    assert "2 / 2 (100%)" in html
    assert '<td data-label="Waiting">3</td>' in html
    assert f"/organiser/events/{event.slug}/attendees" in html


# --- creating and editing ------------------------------------------------------------------------


def test_creating_an_event_saves_a_draft_with_its_ticket_types_and_questions(
    client, login, organiser
):
    login(organiser)
    response = submit(client, "/organiser/events/new", event_form())
    assert response.status_code == 302
    assert response.headers["Location"] == "/organiser/events/mentoring-night/edit"
    event = db.session.scalar(select(Event).where(Event.slug == "mentoring-night"))
    assert event.status == "draft"
    assert [user.id for user in event.organisers] == [organiser.id]
    # Wall-clock 19:00 in Tokyo is 10:00 UTC.
    assert event.starts_at == datetime(2030, 1, 10, 10, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
    general, supporter = event.ticket_types
    assert (general.slug, general.name_ja, general.price_minor, general.quota) == (
        "general",
        "一般",
        0,
        None,
    )
    assert (supporter.price_minor, supporter.currency, supporter.quota) == (1250, "USD", 5)
    assert supporter.member_price_minor == 1000
    assert supporter.sale_ends_at == datetime(2030, 1, 9, 14, 59, tzinfo=UTC)
    food, company = event.questions
    assert food.kind == "single_choice" and food.required
    assert food.options == [
        {"value": "veg", "ja": "ベジタリアン", "en": "Vegetarian"},
        {"value": "any", "ja": "なんでも", "en": "Anything"},
    ]
    assert (company.kind, company.label_en, company.required) == (
        "short_text",
        "Your company",
        False,
    )


def test_the_new_event_form_has_datetime_local_inputs_and_a_multipart_upload(
    client, login, organiser
):
    login(organiser)
    html = client.get("/organiser/events/new").get_data(as_text=True)
    assert 'type="datetime-local"' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'value="Asia/Tokyo"' in html


def test_the_edit_form_shows_times_in_the_events_own_time_zone(
    client, login, organiser, make_event
):
    event = make_event(timezone="Europe/London")
    login(organiser)
    html = client.get(f"/organiser/events/{event.slug}/edit").get_data(as_text=True)
    assert 'value="2030-01-10T10:00"' in html  # London is on UTC in January
    event_in_tokyo = make_event()
    html = client.get(f"/organiser/events/{event_in_tokyo.slug}/edit").get_data(as_text=True)
    assert 'value="2030-01-10T19:00"' in html


def test_editing_saves_the_changes_and_keeps_the_address(client, login, organiser, make_event):
    event = make_event(capacity=10)
    login(organiser)
    form = event_form(slug="another-address", title_en="Renamed", capacity="40")
    response = submit(client, f"/organiser/events/{event.slug}/edit", form)
    assert response.status_code == 302
    assert event.title_en == "Renamed" and event.capacity == 40
    assert event.slug.startswith("event-")
    assert [ticket.slug for ticket in event.ticket_types] == ["general", "supporter"]


class _FormValues(HTMLParser):
    """What a browser would submit from the event form as it is shown (no files)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("file", "submit"):
            if attrs.get("type") == "checkbox" and "checked" not in attrs:
                return
            self.values.append(
                (name, attrs.get("value") or ("y" if attrs.get("type") == "checkbox" else ""))
            )
        elif tag == "select":
            self._select, self._select_value = name, None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in attrs:
                self._select_value = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            self.values.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop the one newline that follows <textarea>, and send lines ending in CRLF.
            text = self._text.replace("\r\n", "\n").removeprefix("\n")
            self.values.append((self._textarea, text.replace("\n", "\r\n")))
            self._textarea = None


def form_as_shown(html: str) -> MultiDict:
    form_html = html[html.index('class="event-form"') :]
    form_html = form_html[: form_html.index("</form>")]
    parser = _FormValues()
    parser.feed(form_html)
    return MultiDict(parser.values)


def test_saving_the_edit_form_as_shown_changes_nothing(client, login, organiser, make_event):
    event = make_event(
        timezone="Europe/Paris",
        registration_opens_at=datetime(2029, 12, 1, 0, 0, tzinfo=UTC),
        tickets=[
            TicketTypeData(slug="general", name_ja="一般", name_en="General", quota=8),
            TicketTypeData(
                slug="paid",
                name_en="Paid",
                price_minor=1999,
                currency="USD",
                member_price_minor=1500,
                members_only=True,
                sale_ends_at=datetime(2030, 1, 9, 12, 0, tzinfo=UTC),
            ),
        ],
        questions=[
            QuestionData(
                kind="multiple_choice",
                label_en="Topics",
                required=True,
                options=[
                    {"value": "a", "ja": "ア", "en": "A"},
                    {"value": "b", "ja": "", "en": "B"},
                ],
            ),
            QuestionData(kind="long_text", label_ja="自己紹介"),
        ],
        description_en="Line one\n\n* a list",
    )

    def snapshot():
        return (
            [getattr(event, name) for name in ("starts_at", "ends_at", "timezone", "capacity")],
            event.registration_opens_at,
            event.description_en,
            [
                (
                    t.slug,
                    t.name_ja,
                    t.price_minor,
                    t.currency,
                    t.quota,
                    t.members_only,
                    t.member_price_minor,
                    t.sale_ends_at,
                )
                for t in event.ticket_types
            ],
            [(q.kind, q.label_ja, q.label_en, q.required, q.options) for q in event.questions],
            event.sequence,
        )

    before = snapshot()
    login(organiser)
    page = client.get(f"/organiser/events/{event.slug}/edit").get_data(as_text=True)
    response = client.post(f"/organiser/events/{event.slug}/edit", data=form_as_shown(page))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert snapshot() == before


BAD_EDITS = [
    ({"ends_at": "2030-01-10T18:00"}, "ends_at", "The end must come after the start."),
    ({"capacity": "-1"}, "capacity", "The capacity cannot be negative."),
    (
        {"ticket_types-1-quota": "31"},
        "ticket_types",
        "A ticket type&#39;s quota must fit inside the event&#39;s capacity.",
    ),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Choose a time zone such as Asia/Tokyo."),
    ({"starts_at": "next tuesday"}, "starts_at", "Give a date and time that exists"),
    ({"ticket_types-1-price": "12.505"}, "ticket_types-1-price", "Give an amount such as 1500"),
    ({"capacity": "many"}, "capacity", "Not a valid integer value."),
    ({"venue_name": ""}, "venue_name", "Give the venue."),
    ({"questions-0-options": "only one"}, "questions", "A choice question needs two options"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_EDITS, ids=[b[1] for b in BAD_EDITS])
def test_bad_input_on_the_edit_form_answers_422_with_the_message_and_changes_nothing(
    client, login, organiser, make_event, change, field, message
):
    event = make_event(capacity=10)
    before = (event.title_en, event.starts_at, event.ends_at, event.capacity, event.timezone)
    login(organiser)
    response = submit(
        client, f"/organiser/events/{event.slug}/edit", event_form(title_en="Changed", **change)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert (
        event.title_en,
        event.starts_at,
        event.ends_at,
        event.capacity,
        event.timezone,
    ) == before
    assert len(event.ticket_types) == 1 and event.questions == []


def test_a_time_that_does_not_exist_in_the_events_zone_is_refused(
    client, login, organiser, make_event
):
    event = make_event()
    login(organiser)
    # Clocks in New York jump from 02:00 to 03:00 on 10 March 2030.
    response = submit(
        client,
        f"/organiser/events/{event.slug}/edit",
        event_form(
            timezone="America/New_York",
            starts_at="2030-03-10T02:30",
            ends_at="2030-03-10T05:00",
            **{"ticket_types-1-sale_ends_at": ""},
        ),
    )
    assert response.status_code == 422
    assert "exists in the event&#39;s time zone" in response.get_data(as_text=True)
    assert event.timezone == "Asia/Tokyo"


def test_capacity_below_the_places_taken_is_refused(client, login, organiser, make_event):
    event = make_event(capacity=10)
    for number in range(3):
        register(event, f"Person {number}", f"p{number}@example.com")
    login(organiser)
    form = event_form(capacity="2", **{"ticket_types-1-quota": ""})
    response = submit(client, f"/organiser/events/{event.slug}/edit", form)
    assert response.status_code == 422
    assert "3 places are taken: the capacity cannot be lower." in response.get_data(as_text=True)
    assert event.capacity == 10


def test_bad_input_on_the_new_event_form_creates_nothing(client, login, organiser):
    login(organiser)
    for change in (
        {"ends_at": "2030-01-10T18:00"},
        {"capacity": "-5"},
        {"title_ja": "", "title_en": ""},
    ):
        response = submit(client, "/organiser/events/new", event_form(**change))
        assert response.status_code == 422, change
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


@pytest.mark.parametrize("slug", ["past", "my-links"])
def test_an_address_that_a_page_of_the_site_uses_is_refused(client, login, organiser, slug):
    """/events/past and /events/my-links are pages: an event named so could never be reached."""
    login(organiser)
    response = submit(client, "/organiser/events/new", event_form(slug=slug))
    assert response.status_code == 422
    assert "A page of the site already uses this address." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_an_address_already_in_use_is_refused_on_its_field(client, login, organiser, make_event):
    make_event(slug="taken")
    login(organiser)
    response = submit(client, "/organiser/events/new", event_form(slug="taken"))
    assert response.status_code == 409
    assert "Another event already uses this address." in response.get_data(as_text=True)


def test_an_empty_address_is_made_from_the_english_title(client, login, organiser):
    login(organiser)
    response = submit(
        client, "/organiser/events/new", event_form(slug="", title_en="Career Talk #3")
    )
    assert response.headers["Location"] == "/organiser/events/career-talk-3/edit"


# --- cover image ---------------------------------------------------------------------------------


def test_a_cover_image_is_stored_under_a_random_name_and_served(
    client, login, organiser, make_event, uploads
):
    event = make_event()
    login(organiser)
    data = {**event_form(), "cover_image": (io.BytesIO(PNG), "photo.png")}
    response = submit(client, f"/organiser/events/{event.slug}/edit", data)
    assert response.status_code == 302
    assert event.cover_image.endswith(".png") and "photo" not in event.cover_image
    assert (uploads / event.cover_image).read_bytes() == PNG
    client.post("/account/logout", data={"csrf_token": token(client)})
    with client.get(f"/events/{event.slug}/cover") as served:
        assert served.status_code == 200
        assert served.mimetype == "image/png"
        assert served.data == PNG
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert f'src="/events/{event.slug}/cover"' in page


def test_a_drafts_cover_image_is_served_only_to_its_organisers(
    client, login, organiser, make_event
):
    event = make_event(publish=False)
    services.set_cover_image(event, PNG)
    assert client.get(f"/events/{event.slug}/cover").status_code == 404
    login(organiser)
    with client.get(f"/events/{event.slug}/cover") as served:
        assert served.status_code == 200


def test_an_event_without_a_cover_image_answers_404(client, make_event):
    assert client.get(f"/events/{make_event().slug}/cover").status_code == 404
    assert client.get("/events/no-such-event/cover").status_code == 404


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"GIF89a" + b"\x00" * 32, "cover.png", "Choose a PNG, JPEG or WebP image."),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "cover.jpg", "Choose a PNG, JPEG or WebP"),
        (PNG + b"\x00" * (2 * 1024 * 1024), "big.png", "The image is too large: at most 2 MB."),
    ],
    ids=["gif-named-png", "svg-named-jpg", "oversized"],
)
def test_a_bad_cover_image_answers_422_on_its_field_and_changes_nothing(
    client, login, organiser, make_event, uploads, content, filename, message
):
    event = make_event()
    login(organiser)
    page = f"/organiser/events/{event.slug}/edit"
    upload = FileStorage(io.BytesIO(content), filename=filename, content_type="image/png")
    fields = {"csrf_token": token(client), **event_form(title_en="Changed"), "cover_image": upload}
    # Encoded here: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(fields)
    response = client.post(
        page, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert event.cover_image == "" and event.title_en == "Event 1"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_webp_and_jpeg_are_recognised_by_their_first_bytes():
    assert services.check_cover_image(b"\xff\xd8\xff\xe0" + b"\x00" * 16) == "jpg"
    assert services.check_cover_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"


# --- publish, cancel, duplicate ------------------------------------------------------------------


def test_publishing_a_draft_opens_it_to_the_public(client, login, organiser, make_event):
    event = make_event(publish=False)
    assert client.get(f"/events/{event.slug}").status_code == 404
    login(organiser)
    response = client.post(
        f"/organiser/events/{event.slug}/publish", data={"csrf_token": token(client)}
    )
    assert response.status_code == 302
    assert event.status == "published"
    again = client.post(
        f"/organiser/events/{event.slug}/publish",
        data={"csrf_token": token(client)},
        follow_redirects=True,
    )
    assert "Only a draft can be published." in again.get_data(as_text=True)


def test_publishing_without_a_csrf_token_is_refused(client, login, organiser, make_event):
    event = make_event(publish=False)
    login(organiser)
    response = client.post(f"/organiser/events/{event.slug}/publish", data={})
    assert response.status_code == 400
    assert event.status == "draft"


def test_cancelling_an_event_tells_every_registrant_with_the_message(
    client, login, organiser, make_event, mailbox
):
    event = make_event(capacity=1)
    register(event, "Ann", "ann@example.com")
    register(event, "Ben", "ben@example.com")  # waiting list
    gone = register(event, "Cid", "cid@example.com")
    services.cancel_registration(gone.id)
    login(organiser)
    mailbox.clear()
    page = client.get(f"/organiser/events/{event.slug}/cancel").get_data(as_text=True)
    assert "2 people" in page
    response = submit(
        client,
        f"/organiser/events/{event.slug}/cancel",
        {"message": "The venue flooded. Sorry!"},
    )
    assert response.status_code == 302
    assert event.status == "cancelled"
    told = sorted(message["To"] for message in mailbox.messages)
    assert told == ["ann@example.com", "ben@example.com"]
    for message in mailbox.messages:
        assert "The venue flooded. Sorry!" in text_of(message)
        assert message["Subject"].startswith("Cancelled:")
    follow = client.get(f"/organiser/events/{event.slug}/edit").get_data(as_text=True)
    assert "We told 2 people." in follow


def test_duplicating_makes_a_draft_with_the_tickets_and_questions_and_no_registrations(
    client, login, organiser, make_event
):
    event = make_event(
        tickets=[
            TicketTypeData(slug="general", name_en="General"),
            TicketTypeData(slug="paid", name_en="Paid", price_minor=3000, quota=5),
        ],
        questions=[QuestionData(kind="short_text", label_en="Company", required=True)],
    )
    company = event.questions[0]
    register(event, "Ann", "ann@example.com", ticket_type="general", answers={company.id: "ACME"})
    login(organiser)
    response = client.post(
        f"/organiser/events/{event.slug}/duplicate", data={"csrf_token": token(client)}
    )
    assert response.status_code == 302
    copy = db.session.scalar(select(Event).where(Event.slug == f"{event.slug}-copy"))
    assert response.headers["Location"] == f"/organiser/events/{copy.slug}/edit"
    assert copy.status == "draft" and copy.places_taken == 0
    assert [(t.slug, t.price_minor, t.quota, t.taken) for t in copy.ticket_types] == [
        ("general", 0, None, 0),
        ("paid", 3000, 5, 0),
    ]
    assert [(q.label_en, q.required) for q in copy.questions] == [("Company", True)]
    count = select(func.count()).select_from(Registration).where(Registration.event_id == copy.id)
    assert db.session.scalar(count) == 0
    assert organiser in copy.organisers


# --- attendees -----------------------------------------------------------------------------------


@pytest.fixture
def crowd(make_event):
    """Three places, two ticket types, one question; people confirmed, cancelled and waiting."""
    event = make_event(
        capacity=3,
        tickets=[
            TicketTypeData(slug="general", name_en="General"),
            TicketTypeData(slug="student", name_en="Student"),
        ],
        questions=[
            QuestionData(
                kind="single_choice",
                label_en="Food",
                options=[
                    {"value": "veg", "ja": "ベジタリアン", "en": "Vegetarian"},
                    {"value": "any", "ja": "なんでも", "en": "Anything"},
                ],
            )
        ],
    )
    food = event.questions[0]
    people = {
        "hanako": register(event, "山田 花子", "hanako@example.jp", ticket_type="general"),
        "alice": register(event, "Alice Smith", "alice@example.com", ticket_type="student"),
        "gone": register(event, "Gone Person", "gone@example.com", ticket_type="student"),
        "formula": register(event, "=HYPERLINK(1)", "f@example.com", ticket_type="general"),
    }
    services.cancel_registration(people["gone"].id)  # the formula person is promoted
    people["lara"] = register(
        event, "Lara Late", "lara@example.com", ticket_type="student", answers={food.id: "veg"}
    )
    assert people["lara"].status == "waitlisted"
    return event, people


def test_the_attendee_list_shows_answers_and_searches_and_filters(client, login, organiser, crowd):
    event, _people = crowd
    login(organiser)
    base = f"/organiser/events/{event.slug}/attendees"
    html = client.get(base).get_data(as_text=True)
    assert "山田 花子" in html and "Vegetarian" in html
    assert "Lara Late" in html

    html = client.get(base + "?q=HANAKO").get_data(as_text=True)
    assert "hanako@example.jp" in html and "alice@example.com" not in html

    html = client.get(base + "?q=%40example.com").get_data(as_text=True)
    assert "alice@example.com" in html and "hanako@example.jp" not in html

    html = client.get(base + "?status=waitlisted").get_data(as_text=True)
    assert "lara@example.com" in html and "alice@example.com" not in html

    html = client.get(base + "?ticket_type=student").get_data(as_text=True)
    assert "alice@example.com" in html and "gone@example.com" in html
    assert "hanako@example.jp" not in html

    html = client.get(base + "?q=_").get_data(as_text=True)
    assert "Nobody matches." in html  # "_" is a character, not a wildcard

    html = client.get(base + "?status=nonsense&ticket_type=nope").get_data(as_text=True)
    assert "Nobody matches." in html


def test_the_csv_export_opens_in_japanese_excel_and_defuses_formulas(
    client, login, organiser, crowd
):
    event, _people = crowd
    login(organiser)
    response = client.get(f"/organiser/events/{event.slug}/attendees.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="{event.slug}-attendees.csv"'
    assert disposition.isascii()
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows[0][:4] == ["Name", "E-mail address", "Status", "Ticket type"]
    assert rows[0][-1] == "Food"
    by_email = {row[1]: row for row in rows[1:]}
    assert by_email["hanako@example.jp"][0] == "山田 花子"
    assert by_email["f@example.com"][0] == "'=HYPERLINK(1)"
    assert by_email["lara@example.com"][-1] == "Vegetarian"
    assert len(rows) == 1 + 5


def test_the_csv_export_follows_the_filters(client, login, organiser, crowd):
    event, _people = crowd
    login(organiser)
    text = client.get(
        f"/organiser/events/{event.slug}/attendees.csv?status=cancelled"
    ).data.decode()
    assert "gone@example.com" in text and "alice@example.com" not in text


def send_to_attendees(client, event, fields: dict, query: str = ""):
    """Write the message on the attendee list, preview it, press "Send": the final response."""
    base = f"/organiser/events/{event.slug}/attendees"
    preview = submit(client, base + query, fields, post_path=f"{base}/email{query}")
    assert preview.status_code == 200, preview.get_data(as_text=True)
    html = preview.get_data(as_text=True)
    send_key = re.search(r'name="send_key" value="([0-9a-f]+)"', html).group(1)
    return client.post(
        f"{base}/email/send{query}",
        data={"csrf_token": csrf_token_from(html), "send_key": send_key, **fields},
    )


def test_an_email_to_a_filtered_group_reaches_exactly_that_group(
    client, login, organiser, crowd, mailbox
):
    event, _people = crowd
    login(organiser)
    mailbox.clear()
    response = send_to_attendees(
        client,
        event,
        {"subject_en": "Student discount", "body_en": "Bring your student card."},
        query="?ticket_type=student",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("attendees?ticket_type=student")
    # Alice (confirmed) and Lara (waiting); not Gone, who cancelled.
    assert sorted(message["To"] for message in mailbox.messages) == [
        "alice@example.com",
        "lara@example.com",
    ]
    assert "Bring your student card." in text_of(mailbox.messages[0])
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your message was sent to 2 people." in follow


def test_an_email_to_everyone_leaves_out_cancelled_registrations(
    client, login, organiser, crowd, mailbox
):
    event, _people = crowd
    login(organiser)
    mailbox.clear()
    response = send_to_attendees(client, event, {"subject_en": "Hello", "body_en": "See you."})
    assert response.status_code == 302
    told = {message["To"] for message in mailbox.messages}
    assert told == {"hanako@example.jp", "alice@example.com", "f@example.com", "lara@example.com"}


def test_an_email_without_a_subject_is_refused_and_sends_nothing(
    client, login, organiser, crowd, mailbox
):
    event, _people = crowd
    login(organiser)
    mailbox.clear()
    response = submit(
        client,
        f"/organiser/events/{event.slug}/attendees",
        {"subject_en": "", "body_en": "Hi"},
        post_path=f"/organiser/events/{event.slug}/attendees/email",
    )
    assert response.status_code == 422
    assert "Write a subject." in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_an_organiser_cancels_a_registration_and_the_next_person_gets_the_place(
    client, login, organiser, make_event
):
    event = make_event(capacity=1)
    ann = register(event, "Ann", "ann@example.com")
    ben = register(event, "Ben", "ben@example.com")
    login(organiser)
    response = submit(
        client,
        f"/organiser/events/{event.slug}/attendees",
        {},
        post_path=f"/organiser/events/{event.slug}/attendees/{ann.id}/cancel",
    )
    assert response.status_code == 302
    assert (ann.status, ben.status) == ("cancelled", "confirmed")


def test_promoting_by_hand_works_when_the_event_is_full(client, login, organiser, make_event):
    event = make_event(capacity=1)
    register(event, "Ann", "ann@example.com")
    ben = register(event, "Ben", "ben@example.com")
    assert ben.status == "waitlisted"
    login(organiser)
    response = submit(
        client,
        f"/organiser/events/{event.slug}/attendees",
        {},
        post_path=f"/organiser/events/{event.slug}/attendees/{ben.id}/promote",
    )
    assert response.status_code == 302
    assert ben.status == "confirmed"
    assert (event.capacity, event.places_taken) == (2, 2)
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ben has a place now." in follow


def test_promoting_someone_who_is_not_waiting_says_so(client, login, organiser, make_event):
    event = make_event()
    ann = register(event, "Ann", "ann@example.com")
    login(organiser)
    response = submit(
        client,
        f"/organiser/events/{event.slug}/attendees",
        {},
        post_path=f"/organiser/events/{event.slug}/attendees/{ann.id}/promote",
        follow_redirects=True,
    )
    assert "Only people on the waiting list can be promoted." in response.get_data(as_text=True)


# --- check-in ------------------------------------------------------------------------------------


def test_checking_in_twice_says_when_the_person_was_first_checked_in(
    client, login, organiser, make_event
):
    event = make_event()
    ann = register(event, "Ann", "ann@example.com")
    register(event, "Ben", "ben@example.com")
    login(organiser)
    page = f"/organiser/events/{event.slug}/check-in"
    assert "<strong>0</strong> / 2" in client.get(page).get_data(as_text=True)
    first = submit(client, page, {"code": ann.ticket_code}, follow_redirects=True)
    html = first.get_data(as_text=True)
    assert "Checked in: Ann" in html
    assert "<strong>1</strong> / 2" in html
    assert ann.checked_in_at is not None
    second = submit(client, page, {"code": ann.ticket_code}, follow_redirects=True)
    html = second.get_data(as_text=True)
    assert "Ann was already checked in at" in html
    assert "JST" in html  # the time is in the event's zone, with the zone named
    assert "<strong>1</strong> / 2" in html


def test_an_unknown_ticket_code_gets_a_clear_message(client, login, organiser, make_event):
    event = make_event()
    login(organiser)
    page = f"/organiser/events/{event.slug}/check-in"
    response = submit(client, page, {"code": "not-a-ticket"}, follow_redirects=True)
    assert response.status_code == 200
    assert "There is no such ticket for this event." in response.get_data(as_text=True)
    scanned = client.get(page + "?code=not-a-ticket")
    assert scanned.status_code == 200
    assert "There is no such ticket for this event." in scanned.get_data(as_text=True)


def test_a_ticket_of_another_event_is_unknown_here(client, login, organiser, make_event):
    event, other = make_event(), make_event()
    ann = register(other, "Ann", "ann@example.com")
    login(organiser)
    response = submit(client, f"/organiser/events/{event.slug}/check-in", {"code": ann.ticket_code})
    assert response.status_code == 302
    assert ann.checked_in_at is None


def test_the_qr_link_shows_the_person_with_a_big_confirm_button(
    client, login, organiser, make_event
):
    event = make_event()
    ann = register(event, "Ann Arbor", "ann@example.com")
    login(organiser)
    html = client.get(f"/organiser/events/{event.slug}/check-in?code={ann.ticket_code}").get_data(
        as_text=True
    )
    assert '<h2 id="scanned-heading" class="scanned-name">Ann Arbor</h2>' in html
    assert "Check in Ann Arbor" in html
    assert f'value="{ann.ticket_code}"' in html
    assert ann.checked_in_at is None  # opening the link alone checks nobody in


def test_the_qr_ticket_points_at_the_check_in_page(client, login, organiser, make_event):
    event = make_event()
    ann = register(event, "Ann", "ann@example.com")
    target = f"/organiser/events/{event.slug}/check-in?code={ann.ticket_code}"
    # Anonymous phones are sent to log in, and back to the ticket afterwards.
    response = client.get(target)
    assert response.status_code == 302 and "next=" in response.headers["Location"]


def test_the_door_search_finds_confirmed_people_by_name_email_or_code(
    client, login, organiser, make_event
):
    event = make_event(capacity=1)
    ann = register(event, "Ann Arbor", "ann@example.com")
    register(event, "Anna Waiting", "anna@example.com")  # waiting list: not at the door
    login(organiser)
    page = f"/organiser/events/{event.slug}/check-in"
    for query in ("arbor", "ann@example", ann.ticket_code):
        html = client.get(page, query_string={"q": query}).get_data(as_text=True)
        assert "Ann Arbor" in html, query
        assert "Anna Waiting" not in html
    html = client.get(page, query_string={"q": "nobody"}).get_data(as_text=True)
    assert "No confirmed attendee matches." in html


def test_the_check_in_page_uses_its_script_from_a_file(client, login, organiser, make_event):
    event = make_event()
    login(organiser)
    html = client.get(f"/organiser/events/{event.slug}/check-in").get_data(as_text=True)
    assert '<script src="/static/js/check-in.js" defer></script>' in html
    assert "<script>" not in html
    with client.get("/static/js/check-in.js") as script:
        assert script.status_code == 200


def test_every_organiser_page_renders_for_a_japanese_reader(client, login, make_user, make_event):
    japanese = make_user(role="organiser", locale="ja")
    event = make_event(owner=japanese)
    ann = register(event, "山田 花子", "hanako@example.jp", language="ja")
    login(japanese)
    for path in (
        "/organiser/",
        "/organiser/events/new",
        f"/organiser/events/{event.slug}/edit",
        f"/organiser/events/{event.slug}/cancel",
        f"/organiser/events/{event.slug}/attendees",
        f"/organiser/events/{event.slug}/check-in?q=山田",
        f"/organiser/events/{event.slug}/check-in?code={ann.ticket_code}",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert '<html lang="ja">' in response.get_data(as_text=True)


def test_wtforms_own_messages_in_ticket_rows_are_translated(client, login, make_user, make_event):
    japanese = make_user(role="organiser", locale="ja")
    event = make_event(owner=japanese)
    login(japanese)
    response = submit(
        client, f"/organiser/events/{event.slug}/edit", event_form(**{"ticket_types-0-quota": "x"})
    )
    assert response.status_code == 422
    assert "Not a valid integer value" not in response.get_data(as_text=True)


# --- co-organisers -------------------------------------------------------------------------------


def test_an_organiser_adds_a_co_organiser_who_then_runs_the_event(
    client, login, organiser, make_event, make_user
):
    event = make_event()
    colleague = make_user(role="organiser", email="colleague@example.com")
    login(organiser)
    response = submit(
        client,
        f"/organiser/events/{event.slug}/edit",
        {"emails": f"{organiser.email}\ncolleague@example.com"},
        post_path=f"/organiser/events/{event.slug}/organisers",
    )
    assert response.status_code == 302
    assert {person.email for person in event.organisers} == {organiser.email, colleague.email}
    client.post("/account/logout", data={"csrf_token": token(client)})
    login(colleague)
    assert client.get(f"/organiser/events/{event.slug}/attendees").status_code == 200


def test_only_organisers_accounts_can_run_an_event(client, login, organiser, make_event, make_user):
    event = make_event()
    make_user(role="member", email="member@example.com")
    login(organiser)
    for emails in ("member@example.com", "nobody@example.com", ""):
        response = submit(
            client,
            f"/organiser/events/{event.slug}/edit",
            {"emails": emails},
            post_path=f"/organiser/events/{event.slug}/organisers",
        )
        assert response.status_code == 422
    assert [person.email for person in event.organisers] == [organiser.email]
