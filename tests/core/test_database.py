"""The database holds the invariants: named constraints refuse bad rows on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from community.accounts.models import User
from community.core.db import db, utcnow
from community.events.models import Event


def _refused(row, constraint_name: str) -> None:
    db.session.add(row)
    with pytest.raises(IntegrityError) as error:
        db.session.flush()
    db.session.rollback()
    message = str(error.value.orig).lower()
    # SQLite names CHECK constraints in its message; PostgreSQL names every constraint.
    assert constraint_name in message or "unique" in message, message


def _user(**changes) -> User:
    values = {"email": "a@example.com", "name": "A", "locale": "en", "role": "member"}
    values.update(changes)
    return User(**values)


def test_users_role_must_be_known(app):
    _refused(_user(role="superuser"), "ck_users_role_known")


def test_users_email_must_be_stored_lowercase(app):
    _refused(_user(email="Mixed@Example.com"), "ck_users_email_lowercase")


def test_users_email_is_unique(app, make_user):
    make_user(email="same@example.com")
    _refused(_user(email="same@example.com"), "uq_users_email")


def _event(**changes) -> Event:
    start = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    values = {
        "slug": "constraint-test",
        "title_en": "Test",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "capacity": 10,
    }
    values.update(changes)
    return Event(**values)


def test_event_must_end_after_it_starts(app):
    start = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    _refused(_event(ends_at=start), "ck_events_ends_after_start")


def test_event_capacity_cannot_be_negative(app):
    # A negative capacity breaks two CHECKs (capacity >= 0, places_taken <= capacity); which one
    # the database names first depends on their order in the table, which a migration may change.
    event = _event(capacity=-1)
    db.session.add(event)
    with pytest.raises(IntegrityError) as error:
        db.session.flush()
    db.session.rollback()
    message = str(error.value.orig).lower()
    assert (
        "ck_events_capacity_not_negative" in message
        or "ck_events_places_taken_within_capacity" in message
    ), message


def test_event_status_must_be_known(app):
    _refused(_event(status="maybe"), "ck_events_status_known")


def test_naive_datetimes_are_refused_before_they_reach_the_database(app):
    db.session.add(_event(starts_at=datetime(2026, 12, 3, 10, 0)))
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_datetimes_come_back_aware_and_in_utc(app):
    from zoneinfo import ZoneInfo

    tokyo_evening = datetime(2026, 12, 3, 19, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    event = _event(starts_at=tokyo_evening, ends_at=tokyo_evening + timedelta(hours=2))
    db.session.add(event)
    db.session.commit()
    db.session.expire_all()
    assert event.starts_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert event.starts_at.tzinfo == UTC
    assert utcnow().tzinfo == UTC


def test_event_refund_share_is_a_percentage(app):
    _refused(_event(refund_percent=101), "ck_events_refund_percent_range")
