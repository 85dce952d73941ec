"""Small in-process caches of rendered HTML fragments: event cards on list pages, the site's
header and footer, other domains' sections of pages, and whole pages (core/pages.py).

Each key carries every value the fragment shows (ids, modification stamps, counters, content
versions, language), so an entry can never be stale: a change makes a new key, and old ones fall
out of the LRU. It is a cache, not state: processes need not agree, and a restart only costs a
re-render. Never put a person's own data in a cached block: keys say what a fragment shows, not
whom it is for.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from cachetools import LRUCache
from flask import Flask, current_app
from markupsafe import Markup

from community.core.cache import SharedCache


class FragmentCache:
    """At most `max_entries` fragments, or, with `max_bytes`, fragments of that many characters
    in all (for blocks of pages, whose sizes vary)."""

    def __init__(self, max_entries: int = 4096, max_bytes: int | None = None) -> None:
        self.max_entries = max_entries
        cache = (
            LRUCache(maxsize=max_bytes, getsizeof=len)
            if max_bytes is not None
            else LRUCache(maxsize=max_entries)
        )
        self._entries: SharedCache[Hashable, Markup] = SharedCache(cache)

    def get(self, key: Hashable) -> Markup | None:
        return self._entries.get(key)

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        return self._entries.get_or_build(
            key,
            lambda: Markup(render()),  # noqa: S704 - rendered by our own autoescaping templates
        )

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


fragments = FragmentCache()

# Pages and blocks of pages, per app (each test's app has its own database, and so its own
# versions).
BLOCKS_MAX_BYTES = 16 * 1024 * 1024


def blocks() -> FragmentCache:
    return current_app.extensions["page_blocks"]


def install(app: Flask) -> None:
    app.extensions["page_blocks"] = FragmentCache(max_bytes=BLOCKS_MAX_BYTES)
