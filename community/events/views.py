"""Public event pages and the organisers' dashboard."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from community.accounts.access import organiser_required
from community.events import services

bp = Blueprint("events", __name__)


@bp.get("/events")
def index():
    return render_template("events/index.html", events=services.upcoming_events(), past=False)


@bp.get("/events/past")
def past():
    return render_template("events/index.html", events=services.past_events(), past=True)


@bp.get("/events/<slug>")
def detail(slug: str):
    event = services.find_visible_event(slug, current_user)
    if event is None:
        abort(404)
    return render_template("events/detail.html", event=event)


@bp.get("/organiser/")
@organiser_required
def dashboard():
    return render_template("events/dashboard.html", events=services.events_run_by(current_user))
