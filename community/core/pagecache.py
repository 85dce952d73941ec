"""A per-process micro-cache for public pages seen by visitors who are not signed in.

The busiest pages (the event list, an event, the API's list) are rendered at most once every
PAGE_CACHE_SECONDS (default 2) per process, address and language; everyone else in that window
gets the same bytes. What is personal in them is put back per request: the page is rendered with
a placeholder where the CSRF token goes, and each visitor's own token replaces it. Signed-in
visitors, requests with messages to flash, and anything but GET always get a fresh render.

"Signed in" is decided by Flask-Login after every way of signing in was tried (the session, the
remember-me cookie, a bearer token), never by peeking at the session: a browser that comes back
with only its remember-me cookie is signed in by that very request, and its page names the person.
A view may also declare its page personal (`mark_personal()`: a draft, a preview); and a render
during which someone got signed in is never kept, whatever the view said.

It is a cache, not state: entries expire on their own, processes need not agree, and the
authority on places left is always the database (a registration is decided there, never here).
"""

from __future__ import annotations

import time
from functools import wraps

from cachetools import TLRUCache
from flask import Response, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from community.core.cache import SharedCache
from community.core.i18n import current_language

_PLACEHOLDER = "__community_csrf_placeholder__"
_clock = time.monotonic
_MAX_ENTRIES = 2048


# An entry: (expires at, status, mimetype, body). Each carries its own expiry, from the config of
# the app that rendered it; the least recently used go first when the cache is full.
Entry = tuple[float, int, str, bytes]


def _expires_at(key: tuple, entry: Entry, now: float) -> float:
    return entry[0]


# The clock is looked up at each use, so that tests can move it.
store: SharedCache[tuple, Entry] = SharedCache(
    TLRUCache(maxsize=_MAX_ENTRIES, ttu=_expires_at, timer=lambda: _clock())
)


def mark_personal() -> None:
    """This request's page is for this visitor only (a draft, a preview): never keep it."""
    g.page_is_personal = True


def _cacheable() -> bool:
    if request.method != "GET" or current_app.config.get("PAGE_CACHE_SECONDS", 0) <= 0:
        return False
    # Flashed messages are the visitor's own; so is everything a signed-in person sees (their
    # navigation, prefilled forms). is_authenticated loads the user from every source first.
    return "_flashes" not in session and not current_user.is_authenticated


def _keepable(response: Response) -> bool:
    return (
        response.status_code == 200
        and not response.direct_passthrough
        and not g.get("page_is_personal", False)
        and not current_user.is_authenticated
        and "_flashes" not in session
    )


def _personalise(body: bytes) -> bytes:
    if _PLACEHOLDER.encode() not in body:
        return body
    return body.replace(_PLACEHOLDER.encode(), generate_csrf().encode())


def micro_cached(view):
    """Serve the view's 200 answers from the micro-cache to visitors who are not signed in."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not _cacheable():
            return view(*args, **kwargs)
        key = (request.endpoint, request.full_path, current_language())
        now = _clock()
        entry = store.get(key)
        if entry is not None:
            _, status, mimetype, body = entry
            return Response(_personalise(body), status=status, mimetype=mimetype)
        # Render with a placeholder token: Flask-WTF hands out whatever g holds for the request.
        g.csrf_token = _PLACEHOLDER
        try:
            response = current_app.make_response(view(*args, **kwargs))
        finally:
            g.pop("csrf_token", None)
        if not _keepable(response):
            if not response.direct_passthrough:
                response.set_data(_personalise(response.get_data()))
            return response
        body = response.get_data()
        ttl = current_app.config["PAGE_CACHE_SECONDS"]
        store.put(key, (now + ttl, response.status_code, response.mimetype, body))
        response.set_data(_personalise(body))
        return response

    return wrapped
