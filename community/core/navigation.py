"""The site's navigation: the entries each domain adds to the main menu and the footer.

Each domain adds its entries from its `init_app` (`add_navigation(app, NavEntry(…), …)`);
base.html shows, through the `navigation(place)` template global, those the signed-in person (or
the visitor) may see, by `position` whatever the order the domains registered them in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flask import Flask
from flask_babel import LazyString
from flask_login import current_user

from community.core.hooks import Hook

Place = Literal["main", "footer"]


def everyone(user: Any) -> bool:
    return True


def signed_in(user: Any) -> bool:
    return bool(user.is_authenticated)


def signed_out(user: Any) -> bool:
    return not user.is_authenticated


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: str | LazyString
    # Where in its place the entry stands: lower first. Main menu: public pages 10–59,
    # back-office pages 60–89, the account's own 90–99.
    position: int
    place: Place = "main"
    # Whether this person (Flask-Login's current_user, perhaps anonymous) sees the entry.
    shown_to: Callable[[Any], bool] = everyone


# Keyed by "place:endpoint" (the calendar is in both the main menu and the footer).
navigation_entry: Hook[NavEntry] = Hook("core.navigation")


def add_navigation(app: Flask, *entries: NavEntry) -> None:
    for entry in entries:
        navigation_entry.register(app, f"{entry.place}:{entry.endpoint}", entry)


def navigation(place: Place = "main") -> list[NavEntry]:
    """The entries of `place` that the current person sees, in order."""
    entries = [entry for entry in navigation_entry.values() if entry.place == place]
    return sorted(
        (entry for entry in entries if entry.shown_to(current_user)),
        key=lambda entry: entry.position,
    )


def install(app: Flask) -> None:
    app.add_template_global(navigation, "navigation")
