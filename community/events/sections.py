"""Sections that other domains add to a registration's manage page (e.g. the calendar's, which
offers to e-mail a guest the address of their calendar), and to an event's public page (e.g.
sponsorship's: the partners' logos and the event's own sponsors).

A section concerns the one registration whose link was opened, nothing more: anyone may register
with any e-mail address, so what is gathered by address (that address's other registrations, its
calendar) must never appear here; at most, a section offers to send it to the address.

Events never imports those domains: each registers, from its `init_app`, a function that takes
the registration (whose manage link was opened) and returns the section's HTML (Markup), and the
manage page shows them in the order they were registered.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from community.core.hooks import Hook
from community.events.models import Registration
from community.events.services.catalog import PageStamp

ManageSection = Callable[[Registration], Markup]

manage_section: Hook[ManageSection] = Hook("events.manage_section")

# What everyone may see on a published event's page (it is cached for everyone alike): never
# anything of the visitor's own. Empty Markup leaves nothing. It is given the event's
# `PageStamp` (services.event_page_stamp: its id, slug, status and stamps), not the event: the
# page is served without loading the event when nothing it shows has changed, so a section
# caches itself by its own key (sponsorship's: the event and the sponsorships' version).
EventSection = Callable[[PageStamp], Markup]

event_section: Hook[EventSection] = Hook("events.event_section")


def manage_sections(registration: Registration) -> list[Markup]:
    return [render(registration) for render in manage_section.values()]


def event_sections(event: PageStamp) -> list[Markup]:
    return [section for render in event_section.values() if (section := render(event))]
