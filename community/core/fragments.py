"""A small in-process cache of rendered HTML fragments (event cards on list pages).

Each key carries every value the fragment shows (ids, modification stamps, counters, language),
so an entry can never be stale: a change makes a new key, and old ones fall out of the LRU. It is
a cache, not state: processes need not agree, and a restart only costs a re-render.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from markupsafe import Markup


class FragmentCache:
    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        fragment = Markup(render())  # noqa: S704 - rendered by our own autoescaping templates
        with self._lock:
            self._entries[key] = fragment
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return fragment

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


fragments = FragmentCache()
