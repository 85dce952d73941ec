"""The site's navigation: the entries each domain adds to the main menu and the footer.

Each domain adds its entries from its `init_app` (`add_navigation(app, NavEntry(…), …)`);
base.html shows, through the `navigation(place)` template global, those the signed-in person (or
the visitor) may see, by `position` whatever the order the domains registered them in.

The header and footer around every page (`site_header()`, `site_footer()`) are the same for
everyone who sees the same entries in the same language on the same section: each is rendered
once per such key and kept per app (a handful of entries, bounded by the sections, languages and
audiences), and the header gets the request's CSRF token and address put in. Nothing personal is
in them: the token and the address are the request's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flask import Flask, current_app, render_template, request
from flask_babel import LazyString
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from community.core.fragments import FragmentCache
from community.core.hooks import Hook
from community.core.i18n import current_language

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


# Stand-ins rendered into the cached header, replaced by each request's own values.
_CSRF_MARK = "\x00csrf-token\x00"
_NEXT_MARK = "\x00this-page\x00"


def _chrome() -> FragmentCache:
    return current_app.extensions["site_chrome"]


def site_header() -> Markup:
    """The page's header: the wordmark, the language switch and the main menu."""
    entries = navigation("main")
    signed_in_now = bool(current_user.is_authenticated)
    key = (
        "header",
        current_language(),
        request.endpoint,
        signed_in_now,
        tuple(entry.endpoint for entry in entries),
    )
    html = _chrome().get_or_render(
        key,
        lambda: render_template(
            "_site_header.html",
            entries=entries,
            signed_in=signed_in_now,
            current_endpoint=request.endpoint,
            csrf_mark=_CSRF_MARK,
            next_mark=_NEXT_MARK,
        ),
    )
    this_page = request.full_path if request.query_string else request.path
    return Markup(  # noqa: S704 - our own template, with escaped values put in
        html.replace(_CSRF_MARK, str(escape(generate_csrf()))).replace(
            _NEXT_MARK, str(escape(this_page))
        )
    )


def site_footer() -> Markup:
    """The page's footer: the community's name and the footer's links."""
    entries = navigation("footer")
    key = ("footer", current_language(), tuple(entry.endpoint for entry in entries))
    return _chrome().get_or_render(
        key, lambda: render_template("_site_footer.html", entries=entries)
    )


def install(app: Flask) -> None:
    app.add_template_global(navigation, "navigation")
    app.extensions["site_chrome"] = FragmentCache(max_entries=512)
    app.add_template_global(site_header, "site_header")
    app.add_template_global(site_footer, "site_footer")
