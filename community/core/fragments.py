"""A small in-process cache of rendered HTML fragments (event cards on list pages).

Each key carries every value the fragment shows (ids, modification stamps, counters, language),
so an entry can never be stale: a change makes a new key, and old ones fall out of the LRU. It is
a cache, not state: processes need not agree, and a restart only costs a re-render.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from cachetools import LRUCache
from markupsafe import Markup

from community.core.cache import SharedCache


class FragmentCache:
    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: SharedCache[Hashable, Markup] = SharedCache(LRUCache(maxsize=max_entries))

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        return self._entries.get_or_build(
            key,
            lambda: Markup(render()),  # noqa: S704 - rendered by our own autoescaping templates
        )

    def clear(self) -> None:
        self._entries.clear()


fragments = FragmentCache()
