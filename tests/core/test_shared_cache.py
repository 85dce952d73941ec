"""The in-process caches (cachetools behind a lock): bounded, least recently used first out,
each page-cache entry gone at its own expiry, and safe to share between threads."""

from __future__ import annotations

import threading

from cachetools import LRUCache

from community.calendar import ical
from community.calendar.services import FeedStore, Served
from community.core import pagecache
from community.core.cache import SharedCache
from community.core.db import utcnow
from community.core.fragments import FragmentCache


def test_fragments_keep_at_most_their_size_and_drop_the_least_recently_used():
    cache = FragmentCache(max_entries=2)
    renders = []

    def render(name):
        def do():
            renders.append(name)
            return f"<p>{name}</p>"

        return do

    cache.get_or_render("a", render("a"))
    cache.get_or_render("b", render("b"))
    assert cache.get_or_render("a", render("a")) == "<p>a</p>"  # used again: kept
    cache.get_or_render("c", render("c"))  # full: "b" goes
    cache.get_or_render("a", render("a"))
    cache.get_or_render("b", render("b"))
    assert renders == ["a", "b", "c", "b"]


def test_components_are_built_once_per_key_within_the_bound():
    cache = ical.ComponentCache(max_entries=3)
    builds = []
    for key in [1, 2, 1, 3, 4, 1, 2]:
        cache.get_or_build((key,), lambda key=key: builds.append(key) or f"{key}".encode())
    assert builds == [1, 2, 3, 4, 2]
    assert len(cache) == 3


def _served(size: int) -> Served:
    return Served("etag", utcnow(), b"x" * size)


def test_feeds_are_kept_within_a_byte_budget_least_recently_used_first_out():
    store = FeedStore(max_bytes=100)
    store.put("a", "1", _served(40))
    store.put("b", "1", _served(40))
    assert store.get("a", "1") is not None  # used again: kept
    store.put("c", "1", _served(40))  # over budget: "b" goes
    assert store.get("b", "1") is None
    assert store.get("a", "1") is not None and store.get("c", "1") is not None
    # A feed larger than the whole budget is served, but not kept (and keeps nothing out).
    store.put("huge", "1", _served(101))
    assert store.get("huge", "1") is None
    assert store.get("a", "1") is not None


def test_page_cache_entries_expire_at_their_own_time_and_are_bounded(monkeypatch):
    clock = {"now": 1000.0}
    monkeypatch.setattr(pagecache, "_clock", lambda: clock["now"])
    pagecache.store.clear()
    try:
        pagecache.store.put(("short",), (1001.0, 200, "text/html", b"short"))
        pagecache.store.put(("long",), (1005.0, 200, "text/html", b"long"))
        clock["now"] = 1001.0  # expiry reached: gone
        assert pagecache.store.get(("short",)) is None
        assert pagecache.store.get(("long",))[3] == b"long"
        for number in range(pagecache.store.maxsize + 10):
            pagecache.store.put((number,), (2000.0, 200, "text/html", b""))
        assert len(pagecache.store) == pagecache.store.maxsize
        assert pagecache.store.get(("long",)) is None  # the least recently used went first
    finally:
        pagecache.store.clear()


def test_a_shared_cache_stays_whole_under_many_threads():
    cache: SharedCache[int, bytes] = SharedCache(LRUCache(maxsize=50))
    wrong, errors = [], []
    start = threading.Barrier(8)

    def work(offset: int) -> None:
        try:
            start.wait()
            for round_ in range(2000):
                key = (round_ * 7 + offset) % 120
                value = cache.get_or_build(key, lambda key=key: str(key).encode())
                if value != str(key).encode():
                    wrong.append((key, value))
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and wrong == []
    assert len(cache) == 50
