"""Where answers are kept: Redis when the cache is django-redis, else process memory.

Both stores keep the same four structures: the Vary names of a resource, the entries
(one per variant), a tag index (tag -> entry keys; tags are the path and the service's
surrogate keys) and, for the race guard, a purge sequence number with the number at
which each tag was last purged. `lookup` returns the sequence number it saw; `put`
stores only if none of the entry's tags was purged since, so an answer fetched while
a purge ran (old data, read before the change) is never stored.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import cache

from common.limits.state import pick_store
from common.settings.namespaces import on_settings_change, on_test_reset
from gateway_project.response_cache.config import knob
from gateway_project.response_cache.policy import variant_key
from gateway_project.response_cache.store_base import Found, Offer, Store, StoreUnavailable

__all__ = ["Found", "MemoryStore", "Offer", "Store", "StoreUnavailable", "response_store"]


class MemoryStore:
    """This process's memory, bounded (least recently used out); without Redis the
    gateway runs one process, so a purge reaches every entry. `clock` (seconds) is for
    tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._now = clock
        self._clear()

    def reset(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes, tuple[str, ...]]] = OrderedDict()
        self._vary: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._tags: dict[str, set[str]] = {}
        self._purged: dict[str, tuple[int, float]] = {}
        self._seq = 0

    def lookup(self, base: str, headers: Mapping[str, str]) -> Found:
        now = self._now()
        with self._lock:
            vary = self._vary.get(base)
            if vary is None or vary[0] <= now:
                return Found(None, self._seq)
            key = f"{base}:{variant_key(vary[1], headers)}"
            entry = self._entries.get(key)
            if entry is None:
                return Found(None, self._seq)
            if entry[0] <= now:
                self._drop(key)
                return Found(None, self._seq)
            self._entries.move_to_end(key)
            return Found(entry[1], self._seq)

    def put(self, offer: Offer) -> bool:
        now = self._now()
        base, names, expires = offer.base, tuple(offer.names), now + offer.ttl
        with self._lock:
            for tag in offer.tags:
                purged = self._purged.get(tag)
                if purged is not None and purged[0] > offer.seen and purged[1] > now:
                    return False
            key = f"{base}:{variant_key(names, offer.headers)}"
            self._drop(key)
            self._entries[key] = (expires, offer.raw, tuple(offer.tags))
            vary = self._vary.get(base)
            keep = vary[0] if vary is not None and vary[1] == names else 0.0
            self._vary[base] = (max(keep, expires), names)
            for tag in offer.tags:
                self._tags.setdefault(tag, set()).add(key)
            while len(self._entries) > knob("MAX_ENTRIES"):
                self._drop(next(iter(self._entries)))
            if len(self._vary) > 2 * knob("MAX_ENTRIES"):
                self._vary = {b: v for b, v in self._vary.items() if v[0] > now}
        return True

    def purge(self, tags: Sequence[str]) -> int:
        now = self._now()
        removed = 0
        with self._lock:
            self._seq += 1
            for tag in tags:
                for key in self._tags.pop(tag, ()):
                    removed += self._drop(key, now)
                self._purged[tag] = (self._seq, now + knob("PURGE_MEMORY_SECONDS"))
            if len(self._purged) > 10_000:
                self._purged = {t: p for t, p in self._purged.items() if p[1] > now}
        return removed

    def _drop(self, key: str, now: float | None = None) -> int:
        """Forget an entry: 1 if there was one (that had not expired by `now`: Redis
        would have let it go already), else 0."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return 0
        for tag in entry[2]:
            keys = self._tags.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tags[tag]
        return 1 if now is None or entry[0] > now else 0


@cache
def response_store() -> Store:
    def redis(cache: object) -> Store:
        from gateway_project.response_cache.redis_store import RedisStore

        return RedisStore(cache)

    return pick_store(MemoryStore, redis)


on_settings_change("CACHES", "GATEWAY_RESPONSE_CACHE")(response_store.cache_clear)


@on_test_reset
def _forget_entries() -> None:
    response_store().reset()
