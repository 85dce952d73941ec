"""Conditional requests for the feeds as Werkzeug answers them: If-Modified-Since alone is
answered 304 without building the feed, HEAD is answered like GET, and the conditions that guard
writes (If-Match, If-Unmodified-Since) never refuse a read."""

from __future__ import annotations

import pytest

from community.calendar import services
from tests.calendar.conftest import private_path
from tests.conftest import IsolatedClient

PATHS = {
    "public": "/calendar.ics",
    "category": "/calendar/career.ics",
    "event": "/events/tokyo-study-night.ics",
}


def _path(which: str, world) -> str:
    return private_path(world.person) if which == "private" else PATHS[which]


def _other_process(make_app):
    """Another process: the same database, nothing in memory."""
    fresh = make_app()
    fresh.test_client_class = IsolatedClient
    return fresh, fresh.test_client()


@pytest.mark.parametrize("which", ["public", "category", "event", "private"])
def test_if_modified_since_alone_is_answered_304_without_building_the_feed(
    client, world, make_app, which
):
    path = _path(which, world)
    first = client.get(path)
    fresh, other_process = _other_process(make_app)
    response = other_process.get(
        path, headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == first.headers["ETag"]
    with fresh.app_context():
        assert len(services.caches().components) == 0


def test_conditions_that_guard_writes_never_refuse_reading_a_feed(client, world):
    # If-Match and If-Unmodified-Since are for changing a resource; a feed is only read.
    path = "/calendar.ics"
    first = client.get(path)
    for headers in (
        {"If-Match": '"not-this-one"'},
        {"If-Match": "*"},
        {"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, headers
        assert response.data == first.data, headers
    matching = client.get(
        path, headers={"If-Match": '"other"', "If-None-Match": first.headers["ETag"]}
    )
    assert matching.status_code == 304


def test_head_is_answered_like_get(client, world):
    path = "/calendar.ics"
    first = client.get(path)
    head = client.head(path)
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == first.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(first.data))
    conditional = client.head(path, headers={"If-None-Match": first.headers["ETag"]})
    assert conditional.status_code == 304
