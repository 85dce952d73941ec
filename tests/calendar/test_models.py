"""The calendar's invariants held by the database: one owner per private feed, long tokens, one
feed per account and per guest address; no category named like a kind's feed; events' positions
both or neither and in range."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from community.calendar.models import PrivateFeed
from community.core.db import db, utcnow
from community.events.models import Category, Event


def _refused(*rows) -> None:
    db.session.add_all(rows)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_private_feed_has_exactly_one_owner(app, make_user):
    user = make_user()
    _refused(PrivateFeed(token="t" * 43))
    _refused(PrivateFeed(token="t" * 43, user_id=user.id, email="guest@example.com"))


def test_a_private_feed_token_carries_at_least_128_bits(app, make_user):
    user = make_user()
    _refused(PrivateFeed(token="short-token", user_id=user.id))


def test_a_guest_feed_address_is_lowercase(app):
    _refused(PrivateFeed(token="t" * 43, email="Guest@Example.com"))


def test_one_feed_per_account_and_per_guest_address(app, make_user):
    user = make_user()
    db.session.add(PrivateFeed(token="a" * 43, user_id=user.id))
    db.session.add(PrivateFeed(token="b" * 43, email="guest@example.com"))
    db.session.commit()
    _refused(PrivateFeed(token="c" * 43, user_id=user.id))
    _refused(PrivateFeed(token="d" * 43, email="guest@example.com"))
    _refused(PrivateFeed(token="a" * 43, email="other@example.com"))


@pytest.mark.parametrize("slug", ["events", "workshops"])
def test_no_category_takes_the_address_of_a_kinds_feed(app, slug):
    _refused(Category(slug=slug, name_ja="x", name_en="x"))


@pytest.mark.parametrize(
    ("latitude", "longitude"), [(35.6, None), (None, 139.7), (91.0, 139.7), (35.6, 181.0)]
)
def test_an_events_position_is_both_or_neither_and_on_the_globe(
    app, make_event, latitude, longitude
):
    event = make_event()
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(Event)
            .where(Event.id == event.id)
            .values(latitude=latitude, longitude=longitude, updated_at=utcnow() + timedelta(1))
        )
    db.session.rollback()
