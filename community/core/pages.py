"""Whole pages rendered once per key and served to everyone whose request has that key, with the
request's own parts put in: the site's header and footer (each cached by its own key: see
navigation.py), the CSRF token, and values the view names (a signed-in person's name in a
form), each escaped here. Where a page's view can tell from a few small reads that the page is
the same as one it rendered before (its stamps and the versions of what it shows), it answers
without loading or rendering anything.

A page with a message waiting to be shown (a flash) is never cached: the view renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from flask import render_template, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from community.core.fragments import blocks
from community.core.navigation import site_footer, site_header

_HEADER = Markup("\x00site-header\x00")
_FOOTER = Markup("\x00site-footer\x00")
_CSRF = "\x00csrf-token\x00"


def mark(name: str) -> str:
    """A stand-in for one of the request's own values in a cached page."""
    return f"\x00value:{name}\x00"


def has_messages() -> bool:
    """Whether a flashed message waits to be shown (the page is then rendered, not cached)."""
    return bool(session.get("_flashes"))


def render_cached(
    key: Hashable,
    template: str,
    context: Callable[[], dict],
    *,
    values: dict[str, str] | None = None,
    fragments: dict[str, Callable[[], str]] | None = None,
) -> str:
    """`template` rendered with `context()` (asked only then) once per `key`, which must hold
    everything the page shows but the header, the footer, the CSRF token, `values` and
    `fragments`; then given this request's header, footer and token, each `mark(name)` of
    `values` its value (escaped) and each of `fragments` its HTML (cached by its own key)."""
    token = generate_csrf()

    def render() -> str:
        html = render_template(
            template, site_header=lambda: _HEADER, site_footer=lambda: _FOOTER, **context()
        )
        return html.replace(token, _CSRF)

    page = str(blocks().get_or_render(("page", key), render))
    page = page.replace(_HEADER, site_header()).replace(_FOOTER, site_footer())
    page = page.replace(_CSRF, token)
    for name, value in (values or {}).items():
        page = page.replace(mark(name), str(escape(value)))
    for name, html in (fragments or {}).items():
        page = page.replace(mark(name), str(html()))
    return page
