"""The public feeds know whether they changed from one small read: the events catalogue's version
(core/versions.py), which the database's triggers bump in the same transaction as any change the
feeds show. These tests run the change in one app (a process) and read the feed through another,
with nothing shared but the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from community.core.db import db
from community.core.versions import content_version
from community.events import services as event_services
from community.events.models import Category, Event
from community.events.services import event_data
from tests.calendar.conftest import NOW, at
from tests.conftest import IsolatedClient


def _other_process(make_app):
    """Another process: the same database, nothing in memory."""
    other = make_app()
    other.test_client_class = IsolatedClient
    return other, other.test_client()


def _version() -> int:
    db.session.rollback()  # a new transaction: what is committed now
    return event_services.catalog_version()


def test_an_edit_saved_in_one_process_changes_the_feed_another_serves(client, world, make_app):
    first = client.get("/calendar.ics")
    assert b"Study night" in first.data
    other, other_client = _other_process(make_app)
    with other.app_context():
        event = db.session.get(Event, world.events["tokyo"].id)
        event_services.update_event(event, event_data(event, title_en="Study night, renamed"))

    again = client.get("/calendar.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.headers["ETag"] != first.headers["ETag"]
    assert b"Study night\\, renamed" in again.data.replace(b"\r\n ", b"")
    # The process that saved it serves the same bytes.
    theirs = other_client.get("/calendar.ics")
    assert theirs.headers["ETag"] == again.headers["ETag"]
    assert theirs.data == again.data
    # And the feed held since is current for both.
    for reader in (client, other_client):
        held = reader.get("/calendar.ics", headers={"If-None-Match": again.headers["ETag"]})
        assert held.status_code == 304


def test_a_category_renamed_in_one_process_shows_in_the_feed_of_another(client, world, make_app):
    first = client.get("/calendar.ics")
    other, _ = _other_process(make_app)
    with other.app_context():
        category = db.session.query(Category).filter_by(slug="career").one()
        category.name_en = "Careers and growth"
        db.session.commit()
    again = client.get("/calendar.ics")
    assert again.headers["ETag"] != first.headers["ETag"]
    assert b"Careers and growth" in again.data


def test_registrations_leave_the_version_alone(client, world, register):
    before = _version()
    served = client.get("/calendar.ics")
    register(world.events["workshop"], 41)
    register(world.events["new_york"], 42)  # its only place
    register(world.events["new_york"], 43)  # the waiting list
    assert _version() == before
    held = client.get("/calendar.ics", headers={"If-None-Match": served.headers["ETag"]})
    assert held.status_code == 304


@pytest.mark.parametrize(
    "change",
    [
        {"updated_at": NOW + timedelta(minutes=1)},
        {"sequence": Event.sequence + 1},
        {"status": "cancelled"},
        {"category_id": None},
        {"slug": "study-night-moved"},
        {"starts_at": at(2027, 3, 5, 9)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_shown_column_bumps_the_version_even_through_a_core_update(world, change):
    before = _version()
    event_id = world.events["tokyo"].id
    db.session.execute(update(Event).where(Event.id == event_id).values(**change))
    db.session.commit()
    assert _version() == before + 1


@pytest.mark.parametrize(
    "change",
    [{"places_taken": Event.places_taken + 1}, {"capacity": Event.capacity + 5}],
    ids=lambda change: next(iter(change)),
)
def test_counters_the_feed_does_not_show_leave_the_version_alone(world, change):
    before = _version()
    event_id = world.events["tokyo"].id
    db.session.execute(update(Event).where(Event.id == event_id).values(**change))
    db.session.commit()
    assert _version() == before


def test_new_and_removed_events_and_categories_bump_the_version(world, make_event, clock):
    before = _version()
    make_event(slug="one-more")
    created = _version()
    assert created > before
    db.session.add(Category(slug="design", name_ja="デザイン", name_en="Design"))
    db.session.commit()
    assert _version() == created + 1
    db.session.execute(delete(Category).where(Category.slug == "design"))
    db.session.commit()
    assert _version() == created + 2
    db.session.execute(delete(Event).where(Event.slug == "one-more"))
    db.session.commit()
    assert _version() == created + 3


def test_a_change_rolled_back_rolls_its_bump_back(world):
    before = _version()
    event = db.session.get(Event, world.events["tokyo"].id)
    event.status = "cancelled"
    db.session.flush()
    assert event_services.catalog_version() == before + 1  # inside the same transaction
    db.session.rollback()
    assert _version() == before
    assert content_version("no-such-content") == 0


def test_the_window_moves_at_midnight_utc_and_the_feed_holds_all_day(
    client, world, make_event, clock
):
    # An event that started 30 days before NOW's day at noon: in the window until that midnight.
    clock.move_to(NOW - timedelta(days=45))
    make_event(
        slug="a-month-ago",
        title_en="A month ago",
        starts_at=at(2027, 1, 30, 12),
        ends_at=at(2027, 1, 30, 14),
    )
    clock.move_to(at(2027, 3, 1, 0, 5))
    early = client.get("/calendar.ics")
    assert b"A month ago" in early.data
    clock.move_to(at(2027, 3, 1, 23, 55))
    late = client.get("/calendar.ics", headers={"If-None-Match": early.headers["ETag"]})
    assert late.status_code == 304
    clock.move_to(at(2027, 3, 2, 0, 5))
    next_day = client.get("/calendar.ics", headers={"If-None-Match": early.headers["ETag"]})
    assert next_day.status_code == 200
    assert b"A month ago" not in next_day.data
