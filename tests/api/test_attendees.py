"""The organisers' attendee list in the JSON API: bearer tokens, and each organiser seeing only the
attendees of the events they run (admins see all)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from community.accounts import services as accounts
from community.accounts.models import ApiToken
from community.core.db import db, utcnow
from community.core.errors import Forbidden
from community.events import services
from community.events.services import TicketTypeData
from tests.api.conftest import bearer


def _attendees(client, slug: str, token: str | None = None, query: str = ""):
    headers = bearer(token) if token else {}
    return client.get(f"/api/v1/events/{slug}/attendees{query}", headers=headers)


@pytest.fixture
def event_with_people(make_event):
    event = make_event(
        slug="full-house",
        capacity=2,
        tickets=[
            TicketTypeData(slug="general", name_en="General"),
            TicketTypeData(slug="speaker", name_en="Speaker", quota=1),
        ],
    )
    for number, ticket in [(1, "general"), (2, "speaker"), (3, "general")]:
        services.register_for_event(
            event.slug,
            name=f"Guest {number}",
            email=f"guest{number}@example.com",
            ticket_type=ticket,
            language="en",
        )
    return event


def test_organiser_reads_the_attendees_of_their_event(
    client, organiser, event_with_people, api_token
):
    response = _attendees(client, "full-house", api_token(organiser))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["event"] == "full-house"
    people = body["attendees"]
    assert [(p["email"], p["status"], p["ticket_type"]) for p in people] == [
        ("guest1@example.com", "confirmed", "general"),
        ("guest2@example.com", "confirmed", "speaker"),
        ("guest3@example.com", "waitlisted", "general"),
    ]
    first = people[0]
    assert set(first) == {
        "id",
        "name",
        "email",
        "status",
        "ticket_type",
        "created_at",
        "checked_in_at",
    }
    assert first["name"] == "Guest 1"
    assert first["created_at"].endswith("+09:00")
    assert first["checked_in_at"] is None


def test_check_in_time_is_given_in_the_events_zone(client, organiser, event_with_people, api_token):
    first = services.attendees(event_with_people)[0]
    services.check_in(event_with_people, first.ticket_code)
    people = _attendees(client, "full-house", api_token(organiser)).get_json()["attendees"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+09:00$", people[0]["checked_in_at"])


def test_attendees_can_be_filtered_like_the_organiser_page(
    client, organiser, event_with_people, api_token
):
    token = api_token(organiser)

    def emails(query: str) -> list[str]:
        response = _attendees(client, "full-house", token, query)
        assert response.status_code == 200, response.get_json()
        return [p["email"] for p in response.get_json()["attendees"]]

    assert emails("?status=waitlisted") == ["guest3@example.com"]
    assert emails("?ticket_type=speaker") == ["guest2@example.com"]
    assert emails("?q=GUEST1") == ["guest1@example.com"]
    error = _attendees(client, "full-house", token, "?status=lost").get_json()["error"]
    assert list(error["fields"]) == ["status"]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic b2xpdmU6c2VjcmV0", "Token ct_abc"],
)
def test_missing_token_is_401_with_a_bearer_challenge(client, event_with_people, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/api/v1/events/full-house/attendees", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("token", ["ct_not-a-real-token", "something-else", "ct_" + "x" * 200])
def test_unknown_token_is_401_invalid_token(client, event_with_people, token):
    response = _attendees(client, "full-house", token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_401_comes_before_404_so_that_slugs_cannot_be_probed(client, app):
    response = client.get("/api/v1/events/no-such-event/attendees")
    assert response.status_code == 401


def test_revoked_token_is_401(client, organiser, event_with_people, api_token):
    token = api_token(organiser)
    assert _attendees(client, "full-house", token).status_code == 200
    [row] = accounts.list_api_tokens(organiser)
    accounts.revoke_api_token(organiser, row.id)
    assert _attendees(client, "full-house", token).status_code == 401


def test_organiser_a_cannot_read_organiser_bs_attendees(
    client, make_user, make_event, event_with_people, api_token
):
    other = make_user(role="organiser", email="bob@example.com")
    make_event(slug="bobs-draft", publish=False, by=other)
    token = api_token(other)
    for slug in ("full-house", "no-such-event"):
        response = _attendees(client, slug, token)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert _attendees(client, "bobs-draft", token).get_json()["attendees"] == []


def test_co_organiser_of_the_event_reads_its_attendees(
    client, make_user, event_with_people, api_token
):
    co = make_user(role="organiser", email="co@example.com")
    event_with_people.organisers.append(co)
    db.session.commit()
    assert _attendees(client, "full-house", api_token(co)).status_code == 200


def test_admin_reads_any_events_attendees(client, make_user, event_with_people, api_token):
    admin = make_user(role="admin", email="admin@example.com")
    response = _attendees(client, "full-house", api_token(admin))
    assert response.status_code == 200
    assert len(response.get_json()["attendees"]) == 3


def test_token_stops_working_when_its_owner_is_no_longer_an_organiser(
    client, make_user, organiser, event_with_people, api_token
):
    admin = make_user(role="admin", email="admin@example.com")
    token = api_token(organiser)
    accounts.set_role(admin, organiser.id, "member")
    assert _attendees(client, "full-house", token).status_code == 401


def test_deleting_the_account_revokes_its_tokens(client, organiser, event_with_people, api_token):
    from tests.conftest import PASSWORD

    token = api_token(organiser)
    accounts.delete_account(organiser, PASSWORD)
    assert _attendees(client, "full-house", token).status_code == 401
    assert all(row.revoked_at is not None for row in db.session.scalars(db.select(ApiToken)))


def test_last_use_is_recorded_at_most_once_a_minute(
    client, organiser, event_with_people, api_token
):
    token = api_token(organiser)
    [row] = accounts.list_api_tokens(organiser)
    assert row.last_used_at is None
    _attendees(client, "full-house", token)
    first_use = row.last_used_at
    assert first_use is not None
    _attendees(client, "full-house", token)
    assert row.last_used_at == first_use
    with time_machine.travel(utcnow() + timedelta(minutes=2)):
        _attendees(client, "full-house", token)
    assert row.last_used_at > first_use


def test_members_cannot_have_tokens(make_user):
    member = make_user()
    with pytest.raises(Forbidden):
        accounts.create_api_token(member, "script")


def test_a_busy_database_does_not_turn_a_valid_token_into_a_500(
    app, make_app, organiser, event_with_people, api_token
):
    """Noting the token's last use waits for the write lock that another process holds; that
    courtesy write gives way, and the attendee list is answered."""
    import sqlite3

    from tests.conftest import IsolatedClient

    # Only SQLite lets a second connection hold the write lock this simply; on PostgreSQL the
    # token's UPDATE waits for a row lock instead, and the same try/except covers its timeout.
    if app.config["TEST_BACKEND"] != "sqlite":
        pytest.skip("holds SQLite's write lock from outside; PostgreSQL waits for row locks")
    token = api_token(organiser)
    impatient = make_app(SQLITE_BUSY_TIMEOUT_MS=200)
    impatient.test_client_class = IsolatedClient
    client = impatient.test_client()
    blocker = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
        response = _attendees(client, "full-house", token)
    finally:
        blocker.rollback()
        blocker.close()
    assert response.status_code == 200
    assert len(response.get_json()["attendees"]) == 3
