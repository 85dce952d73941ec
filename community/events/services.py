"""Reading and managing events. Views and the API call these; they never query on their own."""

from __future__ import annotations

from sqlalchemy import select

from community.accounts.models import User
from community.core.db import db, utcnow
from community.events.models import Event, event_organisers


def upcoming_events(limit: int = 50, kind: str | None = None) -> list[Event]:
    query = (
        select(Event)
        .where(Event.status.in_(("published", "cancelled")), Event.ends_at >= utcnow())
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
    )
    if kind:
        query = query.where(Event.kind == kind)
    return list(db.session.scalars(query))


def past_events(limit: int = 50) -> list[Event]:
    query = (
        select(Event)
        .where(Event.status == "published", Event.ends_at < utcnow())
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def find_visible_event(slug: str, viewer: User | None) -> Event | None:
    """The event if the viewer may see it: published or cancelled for all, drafts for organisers."""
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        return None
    if event.status != "draft":
        return event
    signed_in = viewer is not None and getattr(viewer, "is_authenticated", False)
    if signed_in and (viewer.is_admin or any(u.id == viewer.id for u in event.organisers)):
        return event
    return None


def events_run_by(user: User) -> list[Event]:
    query = select(Event).order_by(Event.starts_at.desc())
    if not user.is_admin:
        query = query.join(event_organisers).where(event_organisers.c.user_id == user.id)
    return list(db.session.scalars(query))
