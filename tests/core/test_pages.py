"""Pages: the layout, the home page, the error pages in both languages, and the demo data."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from community.core.db import db
from community.events.models import Event
from tests.conftest import submit

NAV_PATHS = ["/events", "/partners", "/join", "/donate", "/account/login", "/account/signup"]


def test_every_page_in_the_navigation_answers(client):
    html = client.get("/").get_data(as_text=True)
    for path in NAV_PATHS:
        assert f'href="{path}"' in html
        assert client.get(path).status_code == 200, path


def test_layout_has_landmarks_a_skip_link_and_a_language(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert "<header" in html and "<footer" in html
    assert re.search(r'<nav [^>]*aria-label="Main"', html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_every_form_field_has_a_label(client):
    for path in ("/account/signup", "/account/login", "/account/reset"):
        html = client.get(path).get_data(as_text=True)
        inputs = re.findall(r'<(?:input|select)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html)
        assert inputs, path
        for field_id in inputs:
            assert f'for="{field_id}"' in html, f"{path}: no label for {field_id}"


def test_home_page_shows_the_next_published_events(client, runner):
    runner.invoke(args=["seed-demo"])
    html = client.get("/").get_data(as_text=True)
    assert "Mentoring Night Tokyo" in html
    assert "Test-driven development workshop" not in html  # in the past


@pytest.mark.parametrize(
    ("language", "text"), [("en", "Page not found"), ("ja", "ページが見つかりません")]
)
def test_404_page_in_both_languages(client, language, text):
    response = client.get("/no-such-page", headers={"Accept-Language": language})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert text in html
    assert f'<html lang="{language}">' in html


def test_403_page_in_japanese(client, make_user, login):
    login(make_user(locale="ja"))
    response = client.get("/organiser/")
    assert response.status_code == 403
    assert "このページを見る権限がありません" in response.get_data(as_text=True)


def test_500_page_is_friendly_and_hides_the_error(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom", headers={"Accept-Language": "ja"})
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "サーバーでエラーが発生しました" in html
    assert "secret internals" not in html and "Traceback" not in html


def test_405_and_400_get_pages_not_stack_traces(client):
    response = client.delete("/")
    assert response.status_code == 405
    assert "This action is not allowed here" in response.get_data(as_text=True)


def test_oversized_bodies_get_the_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/account/login", data={"email": "x" * 4096})
    assert response.status_code == 413
    assert "The upload is too large" in response.get_data(as_text=True)


def test_draft_events_are_hidden_from_the_public(client, runner):
    runner.invoke(args=["seed-demo"])
    event = db.session.scalar(select(Event).where(Event.slug == "career-talk-online"))
    event.status = "draft"
    db.session.commit()
    assert client.get("/events/career-talk-online").status_code == 404
    assert "Career talk" not in client.get("/events").get_data(as_text=True)


def test_seed_demo_twice_changes_nothing(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "organiser@example.org" in first.output
    count = db.session.scalar(select(func.count()).select_from(Event))
    second = runner.invoke(args=["seed-demo"])
    assert "nothing changed" in second.output
    assert db.session.scalar(select(func.count()).select_from(Event)) == count
    kinds = set(db.session.scalars(select(Event.kind)))
    assert kinds == {"event", "workshop"}


def test_demo_logins_work(client, runner):
    from tests.conftest import submit

    runner.invoke(args=["seed-demo"])
    response = submit(
        client,
        "/account/login",
        {"email": "organiser@example.org", "password": "demo-organiser-2026"},
    )
    assert response.status_code == 302
    assert "/events/mentoring-night-tokyo" in client.get("/organiser/").get_data(as_text=True)


ERROR_TEXT = {
    400: ("The request could not be understood", "リクエストを処理できませんでした"),
    403: ("You do not have access to this page", "このページを見る権限がありません"),
    404: ("Page not found", "ページが見つかりません"),
    429: ("Too many requests", "リクエストが多すぎます"),
    500: ("Something went wrong on our side", "サーバーでエラーが発生しました"),
}


def _provoke(status, app, client, make_user, login, headers):
    if status == 400:
        return client.post("/account/login", data={"email": "x"}, headers=headers)
    if status == 403:
        # A signed-in reader sees their account's language, so the account has the one tested.
        login(make_user(role="member", locale=headers["Accept-Language"]))
        return client.get("/organiser/", headers=headers)
    if status == 404:
        return client.get("/nowhere", headers=headers)
    if status == 429:
        app.config["RATELIMIT_RESET"] = "1 per minute"
        submit(client, "/account/reset", {"email": "a@example.com"})
        return submit(client, "/account/reset", {"email": "a@example.com"}, headers=headers)

    @app.get("/boom-page")
    def boom_page():
        raise ValueError("internal detail")

    return client.get("/boom-page", headers=headers)


@pytest.mark.parametrize("status", sorted(ERROR_TEXT))
@pytest.mark.parametrize("language", ["en", "ja"])
def test_error_pages_exist_in_both_languages(app, client, make_user, login, status, language):
    headers = {"Accept-Language": language}
    response = _provoke(status, app, client, make_user, login, headers)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    english, japanese = ERROR_TEXT[status]
    assert (english if language == "en" else japanese) in html
    assert f'<html lang="{language}">' in html
    assert "Traceback" not in html
