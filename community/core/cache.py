"""One way to keep a bounded in-process cache that many threads share: a cachetools cache (which
decides what goes when it is full, and when an entry has expired) behind a lock.

Building a missing value happens outside the lock, so a slow build never holds up readers of
other keys; two threads that miss the same key at once may both build it, and the second one's
value replaces the first (they are the same bytes: each key carries all that the value is made
from). What is cached here is never state: processes need not agree, and a restart only costs
a rebuild.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import Cache

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class SharedCache(Generic[Key, Value]):
    """`cache` (an `LRUCache`, a `TLRUCache` …) made safe to share between threads."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._lock = threading.Lock()

    @property
    def maxsize(self) -> int:
        return self._cache.maxsize

    def get(self, key: Key) -> Value | None:
        """The value kept for `key` (which then counts as just used), or None."""
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Key, value: Value) -> None:
        with self._lock:
            try:
                self._cache[key] = value
            except ValueError:
                # Larger than the whole cache (cachetools refuses it): served, but not kept.
                self._cache.pop(key, None)

    def get_or_build(self, key: Key, build: Callable[[], Value]) -> Value:
        found = self.get(key)
        if found is not None:
            return found
        built = build()
        self.put(key, built)
        return built

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)
