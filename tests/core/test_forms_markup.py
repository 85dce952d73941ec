"""Form markup: no attribute is ever written as the text "None" (WTForms' rendering of a Python
None), on the pages with forms, blank and with errors; choice questions are fieldsets with a
legend; optional fields say so; and every page's favicon answers."""

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
    food, topics = (question.id for question in event_with_questions.questions[2:])
    groups = fieldsets_of(html)
    assert groups[f"q_{food}"] == "Food"
    assert groups[f"q_{topics}"] == "Topics (optional)"


def test_optional_fields_say_so_in_both_languages_and_required_ones_need_no_asterisk(
    client, event_with_questions
):
    path = f"/events/{event_with_questions.slug}"
    company, anything, _food, topics = (f"q_{q.id}" for q in event_with_questions.questions)
    html = client.get(path).get_data(as_text=True)
    labels = labels_of(html)
    assert labels[anything] == "Anything else? (optional)"
    assert labels[company] == "Company" and labels["name"] == "Name"
    assert not [text for text in labels.values() if "*" in text]
    assert f'name="{company}" required' in html

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    ja = client.get(path).get_data(as_text=True)
    assert labels_of(ja)[anything] == "Anything else?（任意）"  # Japanese brackets, no space
    assert fieldsets_of(ja)[topics] == "Topics（任意）"
    assert "(optional)" not in ja


def test_forms_without_optional_fields_mark_none(client):
    html = client.get("/account/signup").get_data(as_text=True)
    assert 'class="optional"' not in html


class FormStructure(HTMLParser):
    """Labels by the id they are for; fieldsets by the name of their inputs, with their legend."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.labels: dict[str, str] = {}
        self.fieldsets: dict[str, str] = {}
        self._label_for: str | None = None
        self._legend: list[str] | None = None
        self._fieldset: dict | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "label":
            self._label_for = values.get("for")
            self.labels[self._label_for] = ""
        elif tag == "fieldset":
            self._fieldset = {"legend": "", "names": set()}
        elif tag == "legend":
            self._legend = []
        elif tag == "input" and self._fieldset is not None:
            self._fieldset["names"].add(values.get("name"))

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_for = None
        elif tag == "legend" and self._fieldset is not None:
            self._fieldset["legend"] = "".join(self._legend or []).strip()
            self._legend = None
        elif tag == "fieldset" and self._fieldset is not None:
            for name in self._fieldset["names"]:
                self.fieldsets[name] = self._fieldset["legend"]
            self._fieldset = None

    def handle_data(self, data):
        if self._label_for is not None:
            self.labels[self._label_for] += data
        if self._legend is not None:
            self._legend.append(data)


def _structure(html: str) -> FormStructure:
    parser = FormStructure()
    parser.feed(html)
    parser.close()
    return parser


def labels_of(html: str) -> dict[str, str]:
    return {key: " ".join(text.split()) for key, text in _structure(html).labels.items()}


def fieldsets_of(html: str) -> dict[str, str]:
    return {key: " ".join(text.split()) for key, text in _structure(html).fieldsets.items()}


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
    # The brand's files (templates/_brand.html), the same mark as the header's wordmark.
    assert "/static/brand/mark.svg" in hrefs
    assert "/favicon.ico" in hrefs
    assert '<img class="wordmark-mark" src="/static/brand/mark.svg"' in html
    with client.get("/static/brand/mark.svg") as svg:
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
