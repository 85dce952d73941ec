"""The micro-cache of public pages: shared bytes for visitors who are not signed in, each with
their own working CSRF token, fresh pages for everyone else, and a short life."""

from __future__ import annotations

import re

import pytest

from community.core import pagecache, window
from tests.conftest import PASSWORD, IsolatedClient, submit

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def cached_app(app, monkeypatch):
    app.config["PAGE_CACHE_SECONDS"] = 2
    pagecache.store.clear()
    clock = {"now": 1000.0}
    monkeypatch.setattr(pagecache, "_clock", lambda: clock["now"])
    monkeypatch.setattr(window, "_clock", lambda: clock["now"])  # the shared reads' window
    yield clock
    pagecache.store.clear()


def test_visitors_share_a_render_until_it_expires(app, client, cached_app, make_event):
    make_event(title_en="First event")
    assert "First event" in client.get("/events").get_data(as_text=True)
    make_event(title_en="Second event")
    assert "Second event" not in client.get("/events").get_data(as_text=True)
    cached_app["now"] += 2.1
    assert "Second event" in client.get("/events").get_data(as_text=True)


def test_each_visitor_gets_a_working_token_of_their_own(app, cached_app, make_event):
    event = make_event()
    app.test_client_class = IsolatedClient  # each request in its own context, as in production
    first, second = app.test_client(), app.test_client()
    tokens = []
    for visitor in (first, second):
        html = visitor.get(f"/events/{event.slug}").get_data(as_text=True)
        assert "__community_csrf_placeholder__" not in html
        tokens.append(TOKEN.search(html).group(1))
    assert tokens[0] != tokens[1]
    response = second.post(
        f"/events/{event.slug}/register",
        data={"csrf_token": tokens[1], "name": "B", "email": "b@example.com",
              "ticket_type": "general"},
    )  # fmt: skip
    assert response.status_code == 302
    refused = first.post(
        f"/events/{event.slug}/register",
        data={"csrf_token": tokens[1], "name": "A", "email": "a@example.com",
              "ticket_type": "general"},
    )  # fmt: skip
    assert refused.status_code == 400


def test_signed_in_people_always_get_a_fresh_page(client, cached_app, make_event, make_user):
    client.get("/events")
    make_event(title_en="Just added")
    user = make_user()
    submit(client, "/account/login", {"email": user.email, "password": PASSWORD})
    html = client.get("/events").get_data(as_text=True)
    assert "Just added" in html


def test_languages_are_cached_apart(client, cached_app, make_event):
    make_event()
    english = client.get("/events", headers={"Accept-Language": "en"}).get_data(as_text=True)
    japanese = client.get("/events", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="en">' in english and '<html lang="ja">' in japanese


def test_not_found_is_never_cached(client, cached_app, make_event):
    assert client.get("/events/later").status_code == 404
    make_event(slug="later")
    assert client.get("/events/later").status_code == 200
