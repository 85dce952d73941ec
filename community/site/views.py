"""Home page and the introductory pages linked from the navigation."""

from __future__ import annotations

from flask import Blueprint, render_template

from community.core.pagecache import micro_cached
from community.events import services as events
from community.sponsorship import services as sponsorship

bp = Blueprint("site", __name__)


@bp.get("/")
@micro_cached
def home():
    return render_template(
        "site/home.html", events=events.upcoming_events(limit=6), wall=sponsorship.wall()
    )
