"""What the OpenAPI document promises, checked one rule at a time (schemathesis checks them all
at random in test_openapi_conformance.py): empty query values mean "not given", values are taken
exactly as sent, any valid date is a valid bound, the registration body is as loose or as strict
as its schema says, `payment_unavailable` is documented, and every message follows `?lang`
(English by default), whatever the browser's language."""

from __future__ import annotations

import re

import pytest

from community.api.openapi import build_document
from community.events import services
from community.events.services import TicketTypeData
from community.payments import services as payments
from tests.api.conftest import bearer

JAPANESE = {"Accept-Language": "ja"}


def _slugs(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [event["slug"] for event in response.get_json()["events"]]


# --- query strings -------------------------------------------------------------------------------


def test_empty_query_values_count_as_not_given(client, make_event):
    make_event(slug="first")
    make_event(slug="second", days=12)
    every = "lang=&kind=&category=&format=&language=&from=&to=&page=&per_page="
    assert _slugs(client.get(f"/api/v1/events?{every}")) == ["first", "second"]
    assert client.get("/api/v1/events/first?lang=").status_code == 200


def test_the_document_allows_the_empty_query_values_the_code_accepts(app):
    document = build_document(app.config["BASE_URL"])
    for path, methods in document["paths"].items():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                schema = parameter["schema"]
                if "enum" in schema:
                    assert "" in schema["enum"], (path, parameter["name"])
                elif "pattern" in schema:
                    assert schema["pattern"].endswith(")?$") or "*$" in schema["pattern"], (
                        path,
                        parameter["name"],
                    )


@pytest.mark.parametrize(
    "query",
    ["lang=%20en", "kind=event%20", "format=online%0A", "page=2%0A", "category=%20career"],
)
def test_query_values_are_taken_exactly_as_sent(client, app, query):
    response = client.get(f"/api/v1/events?{query}")
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [query.split("=")[0]]


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01",
        "from=0001-01-01T00:00:00%2B09:00",
        "to=9999-12-31",
        "to=9999-12-31T23:59:59-12:00",
        "from=2026-05-31t10:00:00z",
    ],
)
def test_any_valid_date_is_a_valid_bound(client, make_event, query):
    make_event(slug="soon")
    response = client.get(f"/api/v1/events?{query}")
    assert response.status_code == 200, response.get_json()


def test_the_calendar_ends_bound_the_period_as_expected(client, make_event):
    make_event(slug="soon")
    assert _slugs(client.get("/api/v1/events?from=0001-01-01T00:00:00%2B09:00")) == ["soon"]
    assert _slugs(client.get("/api/v1/events?to=9999-12-31")) == ["soon"]
    assert _slugs(client.get("/api/v1/events?from=9999-12-31T23:59:59-12:00")) == []


def test_a_period_that_ends_before_it_starts_holds_no_events(client, make_event):
    make_event(slug="soon")
    assert _slugs(client.get("/api/v1/events?from=2026-06-02&to=2026-06-01")) == []


def test_attendee_filters_accept_empty_values_and_trim_the_search(
    client, organiser, make_event, api_token
):
    event = make_event(slug="night")
    services.register_for_event(event.slug, name="Ken Sato", email="ken@example.com", language="en")
    token = api_token(organiser)
    url = f"/api/v1/events/{event.slug}/attendees"
    everyone = client.get(f"{url}?lang=&status=&ticket_type=&q=", headers=bearer(token))
    assert [person["name"] for person in everyone.get_json()["attendees"]] == ["Ken Sato"]
    padded = client.get(f"{url}?q=%20%20sato%20", headers=bearer(token))
    assert [person["name"] for person in padded.get_json()["attendees"]] == ["Ken Sato"]
    too_long = client.get(f"{url}?q={'a' * 99}%20%20", headers=bearer(token))
    assert too_long.status_code == 422
    assert list(too_long.get_json()["error"]["fields"]) == ["q"]


# --- the registration body -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "   Hana   "},
        {"name": "\u3000" * 10 + "x" * 120 + " " * 10},  # 120 once the spaces are removed
        {"language": None},
        {"ticket_type": ""},
        {"ticket_type": None},
        {"answers": None},
        {"voucher": None},
    ],
)
def test_what_the_schema_allows_in_a_registration_is_accepted(client, make_event, changes):
    event = make_event()
    body = {"name": "Hana", "email": "hana@example.com", **changes}
    response = client.post(f"/api/v1/events/{event.slug}/registrations", json=body)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "Line\u2028break"}, "name"),
        ({"email": "hana@example.test"}, "email"),
        ({"language": "fr"}, "language"),
    ],
)
def test_what_the_schema_refuses_in_a_registration_is_refused(client, make_event, changes, field):
    event = make_event()
    body = {"name": "Hana", "email": "hana@example.com", **changes}
    response = client.post(f"/api/v1/events/{event.slug}/registrations", json=body)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [field]


def test_the_name_pattern_in_the_document_is_the_rule_of_the_code(app):
    pattern = re.compile(
        build_document("")["components"]["schemas"]["RegistrationRequest"]["properties"]["name"][
            "pattern"
        ]
    )
    for name, valid in [
        ("Hana", True),
        (" \u3000Hana Sato\xa0 ", True),
        ("x" * 120, True),
        ("  " + "x" * 120 + "  ", True),
        ("x" * 121, False),
        ("   ", False),
        ("", False),
        ("Tab\there", False),
        ("NEL\x85here", False),
    ]:
        assert bool(pattern.fullmatch(name)) is valid, name


# --- 503 payment_unavailable ---------------------------------------------------------------------


@pytest.fixture
def no_payment_provider(monkeypatch):
    monkeypatch.setattr(payments, "gateway", lambda: None)


def _register_for_paid_ticket(client, event, query=""):
    return client.post(
        f"/api/v1/events/{event.slug}/registrations{query}",
        json={"name": "Hana", "email": "hana@example.com"},
        headers=JAPANESE,
    )


@pytest.fixture
def paid_event(make_event):
    return make_event(tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)])


@pytest.mark.parametrize("query", ["?lang=en", ""])
def test_payment_unavailable_is_a_documented_503_in_english_by_default(
    client, app, paid_event, no_payment_provider, query
):
    response = _register_for_paid_ticket(client, paid_event, query)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json() == {
        "error": {
            "code": "payment_unavailable",
            "message": "Card payments are not available right now.",
        }
    }
    documented = build_document(app.config["BASE_URL"])["paths"][
        "/api/v1/events/{slug}/registrations"
    ]["post"]["responses"]["503"]
    assert "payment_unavailable" in documented["description"]


def test_payment_unavailable_speaks_japanese_under_lang_ja(client, paid_event, no_payment_provider):
    response = _register_for_paid_ticket(client, paid_event, "?lang=ja")
    assert response.status_code == 503
    assert response.get_json()["error"]["message"] == "現在カード払いはご利用いただけません。"


# --- every message follows ?lang -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nothing-here", 404),
        ("DELETE", "/api/v1/events", 405),
        ("PUT", "/api/v1/events/some-event", 405),
        ("GET", "/api/v1/events/some-event/registrations", 405),
    ],
)
def test_routing_errors_follow_lang_not_the_browser(client, app, method, path, status):
    english = client.open(path, method=method, headers=JAPANESE)
    japanese = client.open(f"{path}?lang=ja", method=method, headers={"Accept-Language": "en"})
    assert english.status_code == japanese.status_code == status
    assert (
        english.get_json()["error"]["message"]
        == {
            404: "Page not found",
            405: "This action is not allowed here",
        }[status]
    )
    assert japanese.get_json()["error"]["message"] != english.get_json()["error"]["message"]
    assert japanese.get_json()["error"]["code"] == str(status)


def test_a_wrong_method_lists_the_allowed_ones(client, app):
    response = client.delete("/api/v1/events/some-event/registrations")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}


def test_service_errors_follow_lang_not_the_browser(client, make_event):
    event = make_event(slug="soon")
    body = {"name": "Hana", "email": "hana@example.com"}
    url = f"/api/v1/events/{event.slug}/registrations"
    assert client.post(url, json=body).status_code == 201
    english = client.post(url, json=body, headers=JAPANESE).get_json()["error"]
    japanese = client.post(f"{url}?lang=ja", json=body).get_json()["error"]
    assert english["code"] == japanese["code"] == "conflict"
    assert english["message"] == "This e-mail address is already registered for this event."
    assert japanese["message"] != english["message"]


def test_a_crash_is_reported_in_lang(client, app, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "list_event_stamps", explode)
    english = client.get("/api/v1/events", headers=JAPANESE)
    japanese = client.get("/api/v1/events?lang=ja")
    assert english.status_code == japanese.status_code == 500
    assert english.get_json()["error"]["message"] == "Something went wrong on our side"
    assert japanese.get_json()["error"]["message"] != english.get_json()["error"]["message"]


def test_the_documents_character_rules_are_core_texts():
    from community.api.schemas import LINE_PATTERN, TEXT_PATTERN
    from community.core.text import LINE_BREAKERS, TEXT_BREAKERS

    line, text = re.compile(LINE_PATTERN), re.compile(TEXT_PATTERN)
    for code in [*range(0x3001), 0xFEFF, 0x1F600]:
        character = chr(code)
        assert bool(line.fullmatch(character)) is not bool(LINE_BREAKERS.search(character)), code
        assert bool(text.fullmatch(character)) is not bool(TEXT_BREAKERS.search(character)), code
