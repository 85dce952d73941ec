"""Sections that other domains add to a registration's manage page (e.g. the calendar's, which
offers to e-mail a guest the address of their calendar).

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

ManageSection = Callable[[Registration], Markup]

manage_section: Hook[ManageSection] = Hook("events.manage_section")


def manage_sections(registration: Registration) -> list[Markup]:
    return [render(registration) for render in manage_section.values()]
