"""The organisers' back office for events: their events, editing, attendees, check-in."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user

from community.accounts.access import organiser_required
from community.events import services
from community.events.views import bp


def _managed_event_or_404(slug: str):
    event = services.find_visible_event(slug, current_user)
    if event is None or not services.can_manage(current_user, event):
        abort(404)
    return event


@bp.get("/organiser/")
@organiser_required
def dashboard():
    events = services.events_run_by(current_user)
    waiting = services.waitlist_lengths([event.id for event in events])
    return render_template("events/dashboard.html", events=events, waiting=waiting)


@bp.get("/organiser/events/<slug>/check-in")
@organiser_required
def check_in(slug: str):
    event = _managed_event_or_404(slug)
    return render_template("events/check_in.html", event=event)


# Placeholders replaced by the organiser back office (in progress in this same change).
@bp.get("/organiser/events/new")
@organiser_required
def new():
    abort(404)


@bp.get("/organiser/events/<slug>/edit")
@organiser_required
def edit(slug: str):
    abort(404)


@bp.get("/organiser/events/<slug>/attendees")
@organiser_required
def attendees(slug: str):
    abort(404)
