"""The feeds over HTTP: content type, strong ETags, conditional requests answered 304 (without
building the feed when the ETag matches), a Last-Modified that only ever moves forward, caching
and indexing headers, and no compression."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select
from werkzeug.http import http_date

from community.calendar import services
from community.calendar.models import FeedVersion
from community.core.db import db
from community.events import services as event_services
from community.events.models import Category, Event
from tests.calendar.conftest import event_data, private_path, vevents
from tests.calendar.validity import assert_valid_calendar
from tests.conftest import IsolatedClient

PUBLIC = ["/calendar.ics", "/calendar/career.ics", "/calendar/workshops.ics"]
PUBLIC += ["/events/tokyo-study-night.ics"]


def _paths(world) -> list[str]:
    return [*PUBLIC, private_path(world.person)]


def _last_modified(response):
    return parsedate_to_datetime(response.headers["Last-Modified"])


def test_feeds_are_served_as_utf8_text_calendar(client, world):
    for path in _paths(world):
        for query in ("", "?lang=en"):
            response = client.get(path + query)
            assert response.status_code == 200, path
            assert response.headers["Content-Type"] == "text/calendar; charset=utf-8", path


def test_etag_is_strong_and_the_same_for_the_same_bytes(client, world, make_app):
    fresh = make_app()
    fresh.test_client_class = IsolatedClient
    other_process = fresh.test_client()
    for path in _paths(world):
        first, again, elsewhere = client.get(path), client.get(path), other_process.get(path)
        etag = first.headers["ETag"]
        assert etag.startswith('"') and etag.endswith('"'), f"{path}: {etag} is not strong"
        assert again.data == first.data and again.headers["ETag"] == etag, path
        assert elsewhere.data == first.data and elsewhere.headers["ETag"] == etag, path
    etags = {client.get(path).headers["ETag"] for path in _paths(world)}
    assert len(etags) == len(_paths(world)), "different feeds share an ETag"


def test_if_none_match_answers_304_with_an_empty_body(client, world):
    for path in _paths(world):
        etag = client.get(path).headers["ETag"]
        for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
            response = client.get(path, headers={"If-None-Match": header})
            assert response.status_code == 304, (path, header)
            assert response.data == b"", (path, header)
            assert response.headers["ETag"] == etag
        stale = client.get(path, headers={"If-None-Match": '"not-this-one"'})
        assert stale.status_code == 200, path
        assert_valid_calendar(stale.data)


def test_if_modified_since_without_if_none_match_answers_304(client, world):
    for path in _paths(world):
        first = client.get(path)
        since = first.headers["Last-Modified"]
        response = client.get(path, headers={"If-Modified-Since": since})
        assert response.status_code == 304, path
        assert response.data == b""
        # If-None-Match decides when both are sent (RFC 9110 13.2.2).
        both = client.get(path, headers={"If-Modified-Since": since, "If-None-Match": '"other"'})
        assert both.status_code == 200, path
        earlier = _last_modified(first) - timedelta(seconds=1)
        older = client.get(path, headers={"If-Modified-Since": http_date(earlier)})
        assert older.status_code == 200, path


def test_a_change_gives_a_new_etag_and_a_later_last_modified(client, world, clock):
    paths = ["/calendar.ics", "/calendar/career.ics", "/calendar/events.ics"]
    paths += ["/events/tokyo-study-night.ics", private_path(world.person)]
    before = {path: client.get(path) for path in paths}
    clock.shift(timedelta(hours=1))
    event = world.events["tokyo"]
    event_services.update_event(event, event_data(event, title_en="Study night (moved)"))
    for path, old in before.items():
        response = client.get(path, headers={"If-None-Match": old.headers["ETag"]})
        assert response.status_code == 200, path
        assert response.headers["ETag"] != old.headers["ETag"], path
        assert _last_modified(response) > _last_modified(old), path
        since = client.get(path, headers={"If-Modified-Since": old.headers["Last-Modified"]})
        assert since.status_code == 200, path


def test_renaming_a_category_gives_every_feed_that_shows_it_a_new_etag(client, world, clock):
    paths = ["/calendar.ics", "/calendar/career.ics", private_path(world.person)]
    before = {path: client.get(path) for path in paths}
    category = db.session.scalar(select(Category).where(Category.slug == "career"))
    category.name_ja, category.name_en = "キャリアとメンタリング", "Careers and mentoring"
    db.session.commit()
    clock.shift(timedelta(minutes=5))
    for path, old in before.items():
        response = client.get(path, headers={"If-None-Match": old.headers["ETag"]})
        assert response.status_code == 200, path
        assert "キャリアとメンタリング".encode() in response.data.replace(b"\r\n ", b""), path
        assert _last_modified(response) > _last_modified(old), path


def test_last_modified_never_goes_back_when_an_event_leaves_the_window(client, world, clock):
    recent = world.events["recent_past"]  # 19 February: out of the 30-day window on 21 March
    paths = ["/calendar.ics", "/calendar/career.ics", "/calendar/workshops.ics"]
    paths.append(private_path(world.person))
    before = {path: client.get(path) for path in paths}
    for path, response in before.items():
        assert recent.slug in vevents(response.data), path
    clock.move_to(recent.starts_at + timedelta(days=31))
    for path, old in before.items():
        response = client.get(path)
        assert recent.slug not in vevents(response.data), path
        assert response.headers["ETag"] != old.headers["ETag"], path
        assert _last_modified(response) > _last_modified(old), path
        since = client.get(path, headers={"If-Modified-Since": old.headers["Last-Modified"]})
        assert since.status_code == 200, f"{path}: a client that has the old feed keeps it"


def test_last_modified_never_goes_back_when_a_registration_is_cancelled(client, world, clock):
    path = private_path(world.person)
    first = client.get(path)
    clock.shift(timedelta(hours=1))
    london = world.events["london"]
    registration = event_services.register_for_event(
        london.slug, name="Mika", email=world.person.email, user=world.person, language="ja"
    )
    registered = client.get(path)
    assert london.slug in vevents(registered.data)
    assert _last_modified(registered) > _last_modified(first)

    clock.shift(timedelta(hours=1))
    event_services.cancel_registration(registration.id)
    cancelled = client.get(path)
    assert london.slug not in vevents(cancelled.data)
    # The same bytes as at first, but not the same moment: a client holding the feed with the
    # London event must be told that it changed.
    assert cancelled.data == first.data
    assert _last_modified(cancelled) > _last_modified(registered)
    since = client.get(path, headers={"If-Modified-Since": registered.headers["Last-Modified"]})
    assert since.status_code == 200
    stale = client.get(path, headers={"If-None-Match": registered.headers["ETag"]})
    assert stale.status_code == 200


def test_public_feeds_are_publicly_cacheable_and_the_private_feed_is_private_and_unindexed(
    client, world
):
    for path in PUBLIC:
        response = client.get(path)
        directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
        assert "public" in directives and "private" not in directives, path
        assert "X-Robots-Tag" not in response.headers, path
    path = private_path(world.person)
    for response in (client.get(path), client.get(path, headers={"If-None-Match": "*"})):
        directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
        assert "private" in directives and "public" not in directives
        assert "noindex" in response.headers["X-Robots-Tag"]


def test_feeds_are_never_compressed(client, world):
    for path in _paths(world):
        response = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers, path
        assert response.data.startswith(b"BEGIN:VCALENDAR\r\n")
        assert "no-transform" in response.headers["Cache-Control"]


@pytest.mark.parametrize("which", ["public", "category", "event", "private"])
def test_a_matching_conditional_request_is_answered_304_without_building_the_feed(
    client, world, make_app, which
):
    path = {
        "public": "/calendar.ics",
        "category": "/calendar/career.ics",
        "event": "/events/tokyo-study-night.ics",
        "private": private_path(world.person),
    }[which]
    etag = client.get(path).headers["ETag"]
    assert db.session.scalar(select(func.count()).select_from(FeedVersion)) == 1

    # Another process: the same database, nothing in memory.
    fresh = make_app()
    fresh.test_client_class = IsolatedClient
    other_process = fresh.test_client()
    response = other_process.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    with fresh.app_context():
        assert len(services.caches().components) == 0

    # Without the ETag the same process does build it, and gets the same answer.
    built = other_process.get(path)
    assert built.status_code == 200
    assert built.headers["ETag"] == etag
    with fresh.app_context():
        assert len(services.caches().components) > 0


def test_a_conditional_request_for_a_changed_feed_is_answered_with_the_new_feed(
    client, world, make_app, clock
):
    path = "/calendar.ics"
    etag = client.get(path).headers["ETag"]
    clock.shift(timedelta(minutes=5))
    event = db.session.get(Event, world.events["london"].id)
    event_services.update_event(
        event,
        event_data(
            event,
            starts_at=event.starts_at + timedelta(hours=1),
            ends_at=event.ends_at + timedelta(hours=1),
        ),
    )
    fresh = make_app()
    fresh.test_client_class = IsolatedClient
    response = fresh.test_client().get(path, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert_valid_calendar(response.data)
