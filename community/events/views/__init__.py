"""The events blueprint: public pages (public.py) and the organisers' back office (organiser.py)."""

from flask import Blueprint, render_template

from community.core.fragments import fragments
from community.core.i18n import current_language
from community.events import services

bp = Blueprint("events", __name__)


def card_key(event, language: str | None = None) -> tuple:
    """What an event's card shows, from the event or its `CardStamp`."""
    return (
        "event-card",
        event.id,
        event.updated_at,
        event.status,
        event.capacity,
        event.places_taken,
        event.category_id,
        language or current_language(),
    )


@bp.app_template_global()
def event_card(event):
    """An event's card, rendered once per change of anything it shows."""
    return fragments.get_or_render(
        card_key(event), lambda: render_template("events/_card.html", event=event)
    )


def cards_key(stamps) -> tuple:
    """What a grid of cards shows: each card's key, and the version of the events (categories'
    names, titles: whatever an edit changes) they were rendered from."""
    language = current_language()
    return (services.catalog_version(), *(card_key(stamp, language) for stamp in stamps))


def cards_loader(stamps):
    """The events of these stamps, read when a block showing them has to be rendered."""
    return lambda: services.events_with_ids([stamp.id for stamp in stamps], with_tickets=True)


from community.events.views import organiser, public  # noqa: E402, F401 - they register routes
