"""Form markup: no attribute is ever written as the text "None" (WTForms' rendering of a Python
None), on the pages with forms, blank and with errors; and every page's favicon answers."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from community.events.services import QuestionData, TicketTypeData
from tests.conftest import csrf_token_from, submit


class AttributeCollector(HTMLParser):
    """Every (tag, attribute, value) on a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.attributes.extend((tag, name, value) for name, value in attrs)

    handle_startendtag = handle_starttag


def attributes_of(html: str) -> list[tuple[str, str, str | None]]:
    collector = AttributeCollector()
    collector.feed(html)
    collector.close()
    return collector.attributes


def assert_no_none_attributes(path: str, html: str) -> None:
    found = [
        f"<{tag} {name}={value!r}>" for tag, name, value in attributes_of(html) if value == "None"
    ]
    assert not found, f"{path}: attributes written as None: {found}"
    assert "<form" in html, f"{path}: expected a form on this page"


@pytest.fixture
def event_with_questions(make_event):
    return make_event(
        slug="markup-night",
        tickets=[
            TicketTypeData(slug="general", name_en="General"),
            TicketTypeData(slug="paid", name_en="Paid", price_minor=2000),
        ],
        questions=[
            QuestionData(kind="short_text", label_en="Company", required=True),
            QuestionData(kind="long_text", label_en="Anything else?"),
            QuestionData(
                kind="single_choice",
                label_en="Food",
                required=True,
                options=[{"value": "veg", "en": "Veg"}, {"value": "any", "en": "Any"}],
            ),
            QuestionData(
                kind="multiple_choice",
                label_en="Topics",
                options=[{"value": "web", "en": "Web"}, {"value": "ml", "en": "ML"}],
            ),
        ],
    )


PUBLIC_FORM_PAGES = ["/account/login", "/account/signup", "/account/reset", "/events"]


@pytest.mark.parametrize("path", PUBLIC_FORM_PAGES)
def test_public_forms_write_no_attribute_as_none(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_no_none_attributes(path, response.get_data(as_text=True))


def test_registration_form_writes_no_attribute_as_none_blank_or_with_errors(
    client, event_with_questions
):
    path = f"/events/{event_with_questions.slug}"
    blank = client.get(path).get_data(as_text=True)
    assert_no_none_attributes(path, blank)
    assert 'name="name" required' in blank  # a required field still says so

    refused = client.post(
        f"{path}/register", data={"csrf_token": csrf_token_from(blank), "ticket_type": "general"}
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert_no_none_attributes(path, html)
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="name-error"' in html


def test_manage_page_writes_no_attribute_as_none(client, event_with_questions, register):
    from community.events import services

    registration = register(
        event_with_questions,
        ticket_type="general",
        answers={
            str(event_with_questions.questions[0].id): "Acme",
            str(event_with_questions.questions[2].id): "veg",
        },
    )
    path = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    response = client.get(path)
    assert response.status_code == 200
    assert_no_none_attributes(path, response.get_data(as_text=True))


def test_options_are_grouped_under_their_question(client, event_with_questions):
    html = client.get(f"/events/{event_with_questions.slug}").get_data(as_text=True)
    assert "<legend>Food</legend>" in html
    assert "<legend>Topics</legend>" in html


@pytest.mark.parametrize("path", ["/account/signup", "/account/login", "/account/reset"])
def test_forms_with_errors_write_no_attribute_as_none(client, path):
    response = submit(client, path, {})
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html, f"{path}: the empty form was not refused"
    assert_no_none_attributes(path, html)


def test_signed_in_and_organiser_forms_write_no_attribute_as_none(
    client, login, make_user, event_with_questions
):
    admin = make_user(role="admin", email="admin@example.com")
    login(admin)
    slug = event_with_questions.slug
    paths = [
        "/account/profile",
        "/account/delete",
        "/organiser/events/new",
        f"/organiser/events/{slug}/edit",
        f"/organiser/events/{slug}/attendees",
        f"/organiser/events/{slug}/check-in",
        f"/organiser/events/{slug}/cancel",
        "/organiser/orders/",
        "/organiser/users/",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_none_attributes(path, response.get_data(as_text=True))

    refused = submit(client, "/organiser/events/new", {})
    assert refused.status_code in (200, 400, 422)
    assert_no_none_attributes("/organiser/events/new (refused)", refused.get_data(as_text=True))


def test_every_page_links_a_favicon(client):
    html = client.get("/").get_data(as_text=True)
    links = [
        dict(attributes)
        for attributes in _link_tags(html)
        if "icon" in (dict(attributes).get("rel") or "").split()
    ]
    hrefs = {link["href"] for link in links}
    assert "/static/favicon.svg" in hrefs
    assert "/favicon.ico" in hrefs
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200
        assert svg.mimetype == "image/svg+xml"


def test_favicon_ico_answers_with_an_icon(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/vnd.microsoft.icon"
        assert response.get_data()[:4] == b"\x00\x00\x01\x00"  # the ICO file signature


def _link_tags(html: str) -> list[list[tuple[str, str | None]]]:
    tags: list[list[tuple[str, str | None]]] = []

    class LinkCollector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "link":
                tags.append(attrs)

    LinkCollector().feed(html)
    return tags
