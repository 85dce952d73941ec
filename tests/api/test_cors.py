"""Cross-origin reads: the community's own sites (CORS_ORIGINS) may read the public GET endpoints
from the browser; other sites, the attendee list and registrations get no CORS headers."""

from __future__ import annotations

import pytest

from community.config import build_config
from tests.api.conftest import bearer

ALLOWED = "https://www.community.example"


@pytest.fixture
def cors_client(make_app, make_event):
    make_event(slug="open-event")
    return make_app(CORS_ORIGINS=f"{ALLOWED}/, https://other.community.example").test_client()


@pytest.mark.parametrize(
    "path", ["/api/v1/events", "/api/v1/events/open-event", "/api/openapi.json"]
)
def test_allowed_origin_may_read_public_endpoints(cors_client, path):
    response = cors_client.get(path, headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.vary
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_errors_of_public_endpoints_are_readable_too(cors_client):
    response = cors_client.get("/api/v1/events/no-such-event", headers={"Origin": ALLOWED})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://www.community.example.evil.example", "null", "*"]
)
def test_other_origins_get_no_cors_header(cors_client, origin):
    response = cors_client.get("/api/v1/events", headers={"Origin": origin})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.vary


def test_preflight_from_an_allowed_origin_allows_get(cors_client):
    response = cors_client.options(
        "/api/v1/events",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "POST" not in response.headers["Access-Control-Allow-Methods"]


def test_preflight_for_registration_is_not_granted(cors_client):
    response = cors_client.options(
        "/api/v1/events/open-event/registrations",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_attendee_list_is_never_shared_cross_origin(cors_client, app, organiser, api_token):
    response = cors_client.get(
        "/api/v1/events/open-event/attendees",
        headers={"Origin": ALLOWED, **bearer(api_token(organiser))},
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_origins_are_allowed_by_default(client, make_event):
    make_event()
    response = client.get("/api/v1/events", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_origins_come_from_the_environment_as_a_comma_separated_list():
    config = build_config(environ={"CORS_ORIGINS": " https://a.example/ ,https://b.example:8443,"})
    assert config["CORS_ORIGINS"] == ("https://a.example", "https://b.example:8443")
    assert build_config(environ={})["CORS_ORIGINS"] == ()
