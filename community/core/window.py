"""Reads of shared content (content versions, the stamps of the event lists and pages) kept per
process for the micro-cache's window (PAGE_CACHE_SECONDS), for signed-in people too: within the
window a page that shows shared content asks the database only for the person's own data.

This is the micro-cache's promise, no weaker: a change made anywhere shows everywhere within
the window, in every process (each entry expires on its own; PAGE_CACHE_SECONDS=0 turns it
off). What is personal is never read through it. And a person sees their own changes at once:
a browser whose session changed something (any request but GET and HEAD) reads fresh for the
window that follows (`_wrote_at` in its session), whichever process answers next; so does
every request that is not a GET or HEAD.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import TLRUCache
from flask import Flask, Response, current_app, request, session

from community.core.cache import SharedCache

Value = TypeVar("Value")

_MAX_ENTRIES = 4096
_WROTE_AT = "_wrote_at"
_READS = "window_reads"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_clock = time.monotonic  # when kept reads expire
_wall = time.time  # when a browser last wrote (its mark travels to every process)


def _seconds() -> int:
    return current_app.config.get("PAGE_CACHE_SECONDS", 0)


def _wrote_lately(seconds: int) -> bool:
    wrote_at = session.get(_WROTE_AT)
    # One second more than the window: the mark is a whole number of seconds.
    return isinstance(wrote_at, int) and _wall() - wrote_at <= seconds + 1


def window_read(key: Hashable, load: Callable[[], Value]) -> Value:
    """`load()`, or what it gave in this process less than the window ago (shared content only:
    `key` must name everything the read depends on). Nothing found (None) is not kept: what is
    made next is seen at once (a page that was not there a moment ago)."""
    seconds = _seconds()
    if seconds <= 0 or request.method not in _SAFE_METHODS or _wrote_lately(seconds):
        return load()
    reads: SharedCache = current_app.extensions[_READS]
    kept = reads.get(key)
    if kept is not None:
        return kept[1]
    value = load()
    if value is not None:
        reads.put(key, (_clock() + seconds, value))
    return value


def _mark_writer(response: Response) -> Response:
    """A browser that changed something reads fresh for the window that follows."""
    if request.method not in _SAFE_METHODS and session and _seconds() > 0:
        session[_WROTE_AT] = int(_wall())
    return response


def _expires_at(key: Hashable, kept: tuple[float, object], now: float) -> float:
    return kept[0]


def install(app: Flask) -> None:
    app.extensions[_READS] = SharedCache(
        TLRUCache(maxsize=_MAX_ENTRIES, ttu=_expires_at, timer=lambda: _clock())
    )
    app.after_request(_mark_writer)
