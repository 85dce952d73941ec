"""Shared reads kept for the micro-cache's window (core/window.py): within it a signed-in page
asks the database only for the person; a change made elsewhere shows once the window has
passed; the person's own change shows at once; PAGE_CACHE_SECONDS=0 turns it off; bounded."""

from __future__ import annotations

import pytest

from community.core import window
from community.core.db import db, utcnow
from tests.conftest import count_queries, submit


@pytest.fixture
def clock(app, monkeypatch):
    app.config["PAGE_CACHE_SECONDS"] = 2
    now = {"at": 5000.0}
    monkeypatch.setattr(window, "_clock", lambda: now["at"])
    monkeypatch.setattr(window, "_wall", lambda: now["at"])
    return now


def _sign_in(client, login, user, clock) -> None:
    """Signed in, the welcome message shown (a page with one is never cached), and past the
    window in which a browser that wrote (signing in is a POST) reads fresh."""
    login(user)
    client.get("/")
    clock["at"] += 3.5


def _shared_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM events" in s or "FROM content_versions" in s]


def test_within_the_window_a_signed_in_page_reads_only_the_person(
    app, client, clock, make_event, make_user, login
):
    event = make_event()
    _sign_in(client, login, make_user(), clock)
    for path in ("/events", f"/events/{event.slug}", "/"):
        assert client.get(path).status_code == 200
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        assert statements, path  # the person is read: signed out elsewhere counts at once
        assert _shared_reads(statements) == [], path


def test_a_change_made_elsewhere_shows_once_the_window_has_passed(
    app, client, clock, make_event, make_user, login
):
    event = make_event(title_en="Old title")
    _sign_in(client, login, make_user(), clock)
    page = f"/events/{event.slug}"
    assert "Old title" in client.get(page).get_data(as_text=True)
    event.title_en, event.updated_at = "New title", utcnow()  # another process's edit
    db.session.commit()
    assert "Old title" in client.get(page).get_data(as_text=True)
    clock["at"] += 2.1
    assert "New title" in client.get(page).get_data(as_text=True)


def test_a_person_sees_their_own_change_at_once(app, client, clock, make_event, make_user, login):
    event = make_event(capacity=5)
    member = make_user(name="Quick Reader")
    _sign_in(client, login, member, clock)
    page = f"/events/{event.slug}"
    client.get(page)
    assert "5 / 5" in client.get(page).get_data(as_text=True)
    answer = submit(
        client,
        page,
        {"name": member.name, "email": member.email, "ticket_type": "general"},
        post_path=f"{page}/register",
    )
    assert answer.status_code == 302
    client.get(answer.headers["Location"])  # the confirmation's message is shown (and gone)
    assert "4 / 5" in client.get(page).get_data(as_text=True)  # within the window


def test_without_the_micro_cache_every_page_reads_what_it_shows(
    app, client, make_event, make_user, login
):
    assert app.config["PAGE_CACHE_SECONDS"] == 0
    make_event()
    login(make_user())
    client.get("/events")
    with count_queries() as statements:
        client.get("/events")
    assert _shared_reads(statements)


def test_missing_things_are_not_kept(app, client, clock, make_event, make_user, login):
    _sign_in(client, login, make_user(), clock)
    assert client.get("/events/arriving-soon").status_code == 404
    make_event(slug="arriving-soon")
    assert client.get("/events/arriving-soon").status_code == 200


def test_the_reads_kept_are_bounded(app, clock):
    reads = app.extensions["window_reads"]
    with app.test_request_context("/events"):
        for number in range(reads.maxsize + 500):
            window.window_read(("test", number), lambda number=number: number)
    assert len(reads) == reads.maxsize
