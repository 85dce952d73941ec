"""The API's pydantic schemas are the one source of its validation and of its OpenAPI document: the
document describes each body, query string and answer with the very schema that validates it; an
answer that breaks its schema is our bug (a JSON 500), never a body the document does not
describe; every refused field gets its own message; and the cross-origin rules go through
Flask-Cors with the same answers as before."""

from __future__ import annotations

import pytest

from community.api import schemas
from community.api.openapi import build_document
from community.api.schemas import AttendeeQuery, EventQuery, LanguageQuery, RegistrationRequest
from community.events.services import QuestionData

REF = "#/components/schemas/{model}"
PERIOD = "Give a date (2026-05-31) or a date and time (2026-05-31T18:30+09:00)."
NOT_A_TEXT = "Give the answer as a text or a list of texts."
CONTROLS = "Remove the control characters from the answer."


def _operation(document, path, method):
    return document["paths"][path][method]


@pytest.mark.parametrize(
    ("path", "method", "model"),
    [
        ("/api/v1/events", "get", EventQuery),
        ("/api/v1/events/{slug}", "get", LanguageQuery),
        ("/api/v1/events/{slug}/registrations", "post", LanguageQuery),
        ("/api/v1/events/{slug}/attendees", "get", AttendeeQuery),
    ],
)
def test_each_query_string_is_documented_by_the_schema_that_validates_it(app, path, method, model):
    operation = _operation(build_document(app.config["BASE_URL"]), path, method)
    documented = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    assert documented == model.model_json_schema(ref_template=REF)["properties"]


def test_the_registration_body_is_documented_by_the_schema_that_validates_it(app):
    document = build_document(app.config["BASE_URL"])
    body = _operation(document, "/api/v1/events/{slug}/registrations", "post")["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RegistrationRequest"
    }
    assert document["components"]["schemas"]["RegistrationRequest"] == (
        RegistrationRequest.model_json_schema(ref_template=REF)
    )


def test_the_slug_in_every_path_is_documented_as_the_code_checks_it(app):
    document = build_document(app.config["BASE_URL"])
    for path, methods in document["paths"].items():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["name"] == "slug", path
                    assert parameter["schema"]["pattern"] == schemas.SLUG_RE.pattern
                    assert parameter["schema"]["maxLength"] == 80
    assert schemas.is_slug("a" * 80) and not schemas.is_slug("a" * 81)
    assert not schemas.is_slug("Not-a-slug") and not schemas.is_slug("trailing-\n")


def test_an_answer_outside_its_schema_is_a_json_500(client, make_event, monkeypatch):
    make_event(slug="soon")
    monkeypatch.setattr(schemas, "event_json", lambda event, language: {"slug": event.slug})
    response = client.get("/api/v1/events")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "500"


def test_a_repeated_query_parameter_counts_once_by_its_first_value(client, make_event):
    make_event(slug="talk")
    make_event(slug="hands-on", kind="workshop")
    response = client.get("/api/v1/events?kind=workshop&kind=nonsense")
    assert response.status_code == 200, response.get_json()
    assert [event["slug"] for event in response.get_json()["events"]] == ["hands-on"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("page=0", "page", "Give a whole number from 1 to 100000."),
        ("per_page=101", "per_page", "Give a whole number from 1 to 100."),
        ("kind=talk", "kind", "Choose one of: event, workshop."),
        ("lang=fr", "lang", "Choose ja or en."),
        ("from=tomorrow", "from", PERIOD),
        ("category=Career", "category", "Give a category's short name, such as career."),
    ],
)
def test_each_refused_parameter_gets_its_own_message(client, query, field, message):
    response = client.get(f"/api/v1/events?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {field: message}


@pytest.fixture
def event_with_question(make_event):
    return make_event(questions=[QuestionData(kind="short_text", label_en="Company")])


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"name": "x" * 121}, {"name": "Keep the name under 120 characters."}),
        ({"name": "Line\u2028break"}, {"name": "Remove the control characters from the name."}),
        ({"name": None}, {"name": "Enter your name."}),
        ({"email": "a@example.com\n"}, {"email": "Enter a valid e-mail address."}),
        ({"voucher": 7}, {"voucher": "Give the voucher code as a text."}),
        ({"voucher": "x" * 101}, {"voucher": "Give the voucher code as a text."}),
        ({"ticket_type": "VIP"}, {"ticket_type": "There is no such ticket type."}),
        ({"answers": []}, {"answers": "Give the answers as an object keyed by question id."}),
        ({"answers": {"company": "x"}}, {"answers": "There is no such question."}),
        ({"answers": {"company": 5}}, {"answers": "There is no such question."}),
        ({"answers": {"1": 5}}, {"answers.1": NOT_A_TEXT}),
        ({"answers": {"1": ["a", 2]}}, {"answers.1": NOT_A_TEXT}),
        ({"answers": {"1": "a\x07"}}, {"answers.1": CONTROLS}),
    ],
)
def test_each_refused_field_gets_its_own_message(client, event_with_question, changes, fields):
    body = {"name": "Hana", "email": "hana@example.com", **changes}
    response = client.post(f"/api/v1/events/{event_with_question.slug}/registrations", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == fields


def test_a_bad_query_string_is_answered_before_a_body_that_is_not_json(client, make_event):
    event = make_event()
    response = client.post(
        f"/api/v1/events/{event.slug}/registrations?lang=fr", data="x", content_type="text/plain"
    )
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["lang"]


def test_the_bodys_language_is_the_language_of_its_errors_when_lang_is_not_given(
    client, make_event
):
    event = make_event()
    body = {"name": "", "email": "hana@example.com", "language": "ja"}
    japanese = client.post(f"/api/v1/events/{event.slug}/registrations", json=body).get_json()
    english = client.post(f"/api/v1/events/{event.slug}/registrations?lang=en", json=body)
    assert english.get_json()["error"]["fields"]["name"] == "Enter your name."
    assert japanese["error"]["fields"]["name"] != "Enter your name."


def test_a_preflight_grants_get_for_ten_minutes_and_never_credentials(make_app, make_event):
    make_event(slug="open-event")
    client = make_app(CORS_ORIGINS="https://www.community.example").test_client()
    response = client.options(
        "/api/v1/events/open-event",
        headers={
            "Origin": "https://www.community.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "accept-language",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.community.example"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.headers["Access-Control-Allow-Headers"].lower() == "accept-language"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.vary
