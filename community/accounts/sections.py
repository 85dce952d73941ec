"""Sections that other domains add to the profile page (e.g. the calendar's private feed).

Accounts never imports those domains: each registers, from its `init_app`, a function that
takes the signed-in user and returns the section's HTML (Markup), and the profile page shows
them in the order they were registered (the order of the domains: "My events" before the
calendar's).
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from community.accounts.models import User
from community.core.hooks import Hook

ProfileSection = Callable[[User], Markup]

profile_section: Hook[ProfileSection] = Hook("accounts.profile_section")


def profile_sections(user: User) -> list[Markup]:
    return [render(user) for render in profile_section.values()]
