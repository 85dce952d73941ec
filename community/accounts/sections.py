"""Sections that other domains add to the profile page (e.g. the calendar's private feed).

Accounts never imports those domains: each registers, at start-up, a function that takes the
signed-in user and returns the section's HTML (Markup), and the profile page shows them in the
order they were registered. Registering the same name again replaces the earlier function, so
that building several apps in one process (the tests) does not repeat a section.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from community.accounts.models import User

ProfileSection = Callable[[User], Markup]

_profile_sections: dict[str, ProfileSection] = {}


def register_profile_section(name: str, render: ProfileSection) -> None:
    _profile_sections[name] = render


def profile_sections(user: User) -> list[Markup]:
    return [render(user) for render in _profile_sections.values()]
