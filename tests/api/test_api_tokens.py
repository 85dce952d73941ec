"""API tokens: made and revoked on the organiser's profile page or with the CLI, shown once, and
stored only as a SHA-256."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy import select

from community.accounts import services as accounts
from community.accounts.models import ApiToken
from community.core.db import db
from tests.api.conftest import bearer
from tests.conftest import csrf_token_from, submit

TOKEN_ON_PAGE = re.compile(r'<code id="new-api-token">(ct_[A-Za-z0-9_-]+)</code>')


def _create_on_profile(client, name: str = "attendance export"):
    return submit(
        client,
        "/account/profile",
        {"token_name": name},
        post_path="/account/profile/api-tokens",
    )


def _token_shown(html: str) -> str:
    match = TOKEN_ON_PAGE.search(html)
    assert match, "no new token on the page"
    return match.group(1)


def test_token_made_on_the_profile_page_is_shown_once_and_works(
    client, organiser, login, make_event
):
    make_event(slug="my-event")
    login(organiser)
    response = _create_on_profile(client)
    assert response.status_code == 302
    page = client.get("/account/profile").get_data(as_text=True)
    token = _token_shown(page)
    assert "attendance export" in page
    assert token[:10] + "…" in page
    assert TOKEN_ON_PAGE.search(client.get("/account/profile").get_data(as_text=True)) is None

    client.post("/account/logout", data={"csrf_token": csrf_token_from(page)})
    response = client.get("/api/v1/events/my-event/attendees", headers=bearer(token))
    assert response.status_code == 200


def test_only_a_hash_of_the_token_is_stored(client, app, organiser, login):
    login(organiser)
    _create_on_profile(client)
    token = _token_shown(client.get("/account/profile").get_data(as_text=True))
    [row] = db.session.scalars(select(ApiToken)).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:10]
    stored = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert not any(token in value or token[10:] in value for value in stored)
    if app.config["TEST_BACKEND"] == "sqlite":
        db.session.commit()
        path = Path(db.engine.url.database)
        for candidate in (path, path.with_name(path.name + "-wal")):
            if candidate.exists():
                assert token[10:].encode() not in candidate.read_bytes()


def test_revoking_on_the_profile_page_makes_the_token_401(client, organiser, login, make_event):
    make_event(slug="my-event")
    login(organiser)
    _create_on_profile(client, "old script")
    page = client.get("/account/profile").get_data(as_text=True)
    token = _token_shown(page)
    [row] = accounts.list_api_tokens(organiser)
    response = client.post(
        f"/account/profile/api-tokens/{row.id}/revoke",
        data={"csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 302
    page = client.get("/account/profile").get_data(as_text=True)
    assert "old script" in page  # in the flash message
    assert accounts.list_api_tokens(organiser) == []
    response = client.get("/api/v1/events/my-event/attendees", headers=bearer(token))
    assert response.status_code == 401


def test_revoking_without_the_csrf_token_changes_nothing(client, organiser, login, api_token):
    token = api_token(organiser)
    login(organiser)
    [row] = accounts.list_api_tokens(organiser)
    client.post(f"/account/profile/api-tokens/{row.id}/revoke")
    assert accounts.user_for_api_token(token) is not None


def test_an_organiser_cannot_revoke_someone_elses_token(
    client, organiser, make_user, login, api_token
):
    other = make_user(role="organiser", email="bob@example.com")
    token = api_token(other)
    [row] = accounts.list_api_tokens(other)
    login(organiser)
    page = client.get("/account/profile").get_data(as_text=True)
    response = client.post(
        f"/account/profile/api-tokens/{row.id}/revoke",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=True,
    )
    assert "There is no such token." in response.get_data(as_text=True)
    assert accounts.user_for_api_token(token).id == other.id


def test_a_token_needs_a_name(client, organiser, login):
    login(organiser)
    response = _create_on_profile(client, "")
    assert response.status_code == 422
    assert "Give the token a name." in response.get_data(as_text=True)
    assert accounts.list_api_tokens(organiser) == []


def test_members_see_no_token_section_and_cannot_make_one(client, make_user, login):
    member = make_user()
    login(member)
    page = client.get("/account/profile").get_data(as_text=True)
    assert "API tokens" not in page
    response = client.post(
        "/account/profile/api-tokens",
        data={"csrf_token": csrf_token_from(page), "token_name": "sneaky"},
    )
    assert response.status_code == 403
    assert db.session.scalars(select(ApiToken)).all() == []


def test_cli_prints_a_working_token_for_an_organiser(runner, client, organiser, make_event):
    make_event(slug="my-event")
    result = runner.invoke(args=["create-api-token", organiser.email, "--name", "cron"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("ct_")
    [row] = accounts.list_api_tokens(organiser)
    assert row.name == "cron"
    response = client.get("/api/v1/events/my-event/attendees", headers=bearer(token))
    assert response.status_code == 200


def test_cli_refuses_members_and_unknown_addresses(runner, make_user):
    member = make_user(email="member@example.com")
    refused = runner.invoke(args=["create-api-token", member.email])
    assert refused.exit_code != 0
    assert "organisers and administrators" in refused.output
    unknown = runner.invoke(args=["create-api-token", "nobody@example.com"])
    assert unknown.exit_code != 0
    assert "no account" in unknown.output
    assert db.session.scalars(select(ApiToken)).all() == []
