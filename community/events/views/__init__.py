"""The events blueprint: public pages (public.py) and the organisers' back office (organiser.py)."""

from flask import Blueprint, render_template

from community.core.fragments import fragments
from community.core.i18n import current_language

bp = Blueprint("events", __name__)


@bp.app_template_global()
def event_card(event):
    """An event's card, rendered once per change of anything it shows."""
    key = (
        "event-card",
        event.id,
        event.updated_at,
        event.status,
        event.capacity,
        event.places_taken,
        event.category_id,
        current_language(),
    )
    return fragments.get_or_render(key, lambda: render_template("events/_card.html", event=event))


from community.events.views import organiser, public  # noqa: E402, F401 - they register routes
