"""Home page and the introductory pages linked from the navigation."""

from __future__ import annotations

from flask import Blueprint, render_template

from community.core.i18n import current_language
from community.core.pagecache import micro_cached
from community.core.pages import has_messages, render_cached
from community.events import services as events
from community.events.views import cards_key, cards_loader
from community.sponsorship import services as sponsorship

bp = Blueprint("site", __name__)


@bp.get("/")
@micro_cached
def home():
    """The next events' cards and the partners' wall: rendered once per change of what they
    show (the cards' stamps, the events' and the sponsorships' versions, the day, the
    language); the events and the wall are read only then."""
    stamps = events.upcoming_event_stamps(limit=6)

    def context() -> dict:
        return {"events": cards_loader(stamps), "wall": sponsorship.wall}

    if has_messages():
        return render_template("site/home.html", **context())
    key = ("home", current_language(), cards_key(stamps), sponsorship.wall_version())
    return render_cached(key, "site/home.html", context)
