"""The OpenAPI document matches the API: schemathesis generates requests for every documented
operation from /api/openapi.json and checks each answer against the document (no server error,
only documented statuses, documented content type, body valid against its schema).

Hypothesis drives `APIOperation.as_strategy()` directly rather than through schemathesis'
`from_fixture(...).parametrize()`: that integration sets `Function._nodeid`, which pytest 9.2 no
longer has. The app is built with `make_app`, outside the `app` fixture's application context,
so that every generated request gets its own context and database session, as in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from community.accounts import services as accounts
from community.accounts.models import User
from community.api.openapi import build_document
from community.core.db import db, utcnow
from community.events import services
from community.events.services import EventData, QuestionData, TicketTypeData
from tests.conftest import password_hash

OPERATIONS = [
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/events/{slug}"),
    ("POST", "/api/v1/events/{slug}/registrations"),
    ("GET", "/api/v1/events/{slug}/attendees"),
    ("GET", "/api/openapi.json"),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SEEDED_SLUG = "conformance-night"


@dataclass(frozen=True)
class SeededApi:
    app: object
    token: str
    question_id: int


@pytest.fixture
def seeded_api(make_app) -> SeededApi:
    # Rate limits off: past the 30th generated registration every answer would be a 429, and the
    # registration rules behind it would go untested.
    app = make_app(RATELIMIT_ENABLED=False, MAIL_SERVER="")
    with app.app_context():
        organiser = User(
            email="conformance@example.com",
            name="Conformance Organiser",
            password_hash=password_hash("correct horse battery"),
            role="organiser",
            locale="en",
            email_confirmed_at=utcnow(),
        )
        db.session.add(organiser)
        db.session.commit()
        start = utcnow().replace(microsecond=0) + timedelta(days=14)
        event = services.create_event(
            EventData(
                slug=SEEDED_SLUG,
                kind="event",
                title_ja="適合性の夕べ",
                title_en="Conformance night",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                capacity=5,
                venue_name="Hall",
                ticket_types=[
                    TicketTypeData(slug="general", name_en="General", quota=4),
                    TicketTypeData(slug="paid", name_en="Paid", price_minor=1500),
                ],
                questions=[
                    QuestionData(
                        kind="single_choice",
                        label_en="Food",
                        options=[{"value": "veg", "en": "Veg"}, {"value": "any", "en": "Any"}],
                    )
                ],
            ),
            organiser,
        )
        services.publish_event(event)
        _token, raw = accounts.create_api_token(organiser, "conformance")
        question_id = event.questions[0].id
        db.session.remove()
    return SeededApi(app, raw, question_id)


@pytest.fixture
def api_schema(seeded_api):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", seeded_api.app)


def _valid_registrations(question_id: int):
    """Bodies the seeded event accepts: random ones almost never name a real ticket type."""
    return st.fixed_dictionaries(
        {
            "name": st.sampled_from(["Hana", "Ken Sato", "山田 花子"]),
            # A small pool, so that some addresses come twice (409) and the event fills up.
            "email": st.integers(1, 8).map(lambda number: f"guest{number}@example.com"),
            # Two types are on sale, so one must be named.
            "ticket_type": st.sampled_from(["general", "paid"]),
        },
        optional={
            "answers": st.sampled_from([{}, {str(question_id): "veg"}, None]),
            "voucher": st.sampled_from(["PARTNER", None]),
            "language": st.sampled_from(["ja", "en"]),
        },
    )


def _cases(operation, variant: str, seeded_api: SeededApi):
    """What to send. `positive` and `negative` are schemathesis' own valid and invalid input; for
    paths with {slug}, half of it aims at the seeded event, since random slugs only ever find
    nothing. `accepted` sends registrations the seeded event takes, from a small pool of e-mail
    addresses, so that it fills up, waitlists and refuses duplicates (201, 409)."""
    at_seeded = {"slug": SEEDED_SLUG}
    if variant == "accepted":
        return _valid_registrations(seeded_api.question_id).flatmap(
            lambda body: operation.as_strategy(path_parameters=at_seeded, body=body)
        )
    mode = GenerationMode(variant)
    generated = operation.as_strategy(generation_mode=mode)
    if "{slug}" not in operation.path:
        return generated
    return st.one_of(
        operation.as_strategy(generation_mode=mode, path_parameters=at_seeded), generated
    )


def test_the_document_is_valid_openapi_3_1(api_schema):
    assert api_schema.raw_schema["openapi"] == "3.1.0"
    api_schema.validate()  # against the OpenAPI meta-schema that schemathesis bundles


def _documented_operations(document: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }


def test_every_api_route_is_documented_and_nothing_else(app):
    routes = {
        (method, re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    document = build_document(app.config["BASE_URL"])
    assert _documented_operations(document) == routes == set(OPERATIONS)


RUNS = [
    *(
        pytest.param(method, path, variant, id=f"{method} {path} {variant}")
        for method, path in OPERATIONS
        for variant in ("positive", "negative")
        # The document itself takes no input: there is nothing to make invalid.
        if not (path == "/api/openapi.json" and variant == "negative")
    ),
    pytest.param(*OPERATIONS[2], "accepted", id=f"{' '.join(OPERATIONS[2])} accepted"),
]


@pytest.mark.parametrize(("method", "path", "variant"), RUNS)
def test_operation_answers_as_the_openapi_document_says(
    api_schema, seeded_api, method, path, variant
):
    operation = api_schema[path][method]
    statuses = []

    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=_cases(operation, variant, seeded_api))
    def answers_as_documented(case):
        headers = {}
        if path.endswith("/attendees"):
            headers["Authorization"] = f"Bearer {seeded_api.token}"
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.append(response.status_code)

    answers_as_documented()
    if variant == "positive" and "{slug}" in path:
        # Proof that the seeded event was reached, not only missing ones.
        assert any(status != 404 for status in statuses), statuses
    if variant == "accepted":
        assert {201, 409} <= set(statuses), statuses
