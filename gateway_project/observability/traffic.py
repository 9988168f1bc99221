"""Per-route traffic in 10-second buckets, for the dashboard: counts, errors, latencies.

The request path only adds to a dict under a lock (`record`). With Redis (REDIS_URL), a
thread per process flushes what piled up once a second, one pipelined round trip of
HINCRBYs into one hash per bucket that every worker and replica adds to, so the figures
cover them all; without Redis (one gateway process) they move into this process's
buckets when the dashboard reads them. Either store is a TrafficStore (common.limits.state's
seam). Latency is a fixed histogram per bucket, so p50/p99 merge across processes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Protocol

from django.http import HttpRequest

from common.limits.state import pick_store, redis_cache
from common.settings.namespaces import on_settings_change, on_test_reset

logger = logging.getLogger(__name__)

BUCKET_SECONDS = 10
WINDOW_SECONDS = 15 * 60
FLUSH_SECONDS = 1.0
FAILURE_LOG_INTERVAL = 60.0
# Upper bounds (ms) of the latency histogram's buckets; one more counts the rest.
LATENCY_BOUNDS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
KEY = "gateway:traffic:{}"
KEEP_SECONDS = WINDOW_SECONDS + 2 * BUCKET_SECONDS  # a bucket outlives the window

_lock = threading.Lock()
_pending: dict[int, Counter] = {}  # bucket -> field -> count, not yet in the store
_flusher: threading.Thread | None = None
_last_failure_log = 0.0


class TrafficStore(Protocol):
    """Where the buckets are added up: Redis (RedisTraffic, every process's) or this
    process's memory (MemoryTraffic)."""

    def add(self, batch: Mapping[int, Counter]) -> None:
        """Add each bucket's counts to what the store has."""
        ...

    def read(self, buckets: Sequence[int]) -> dict[int, Counter]:
        """The counts of these buckets (oldest first); older ones may be let go."""
        ...

    def forget(self, buckets: Sequence[int]) -> None: ...


class MemoryTraffic:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[int, Counter] = {}

    def add(self, batch: Mapping[int, Counter]) -> None:
        with self._lock:
            for bucket, tally in batch.items():
                self._buckets.setdefault(bucket, Counter()).update(tally)

    def read(self, buckets: Sequence[int]) -> dict[int, Counter]:
        with self._lock:
            for bucket in [b for b in self._buckets if b < buckets[0]]:
                del self._buckets[bucket]
            return {bucket: Counter(self._buckets.get(bucket, ())) for bucket in buckets}

    def forget(self, buckets: Sequence[int]) -> None:
        with self._lock:
            self._buckets.clear()


class RedisTraffic:
    """One hash per bucket, kept KEEP_SECONDS after its last addition; one pipelined
    round trip to add a batch or read the window."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    @property
    def client(self) -> Any:
        return self.cache.client.get_client(write=True)

    def _key(self, bucket: int) -> str:
        return self.cache.make_key(KEY.format(bucket))

    def add(self, batch: Mapping[int, Counter]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for bucket, tally in batch.items():
            key = self._key(bucket)
            for field, count in tally.items():
                pipe.hincrby(key, field, count)
            pipe.expire(key, KEEP_SECONDS)
        pipe.execute()

    def read(self, buckets: Sequence[int]) -> dict[int, Counter]:
        pipe = self.client.pipeline(transaction=False)
        for bucket in buckets:
            pipe.hgetall(self._key(bucket))
        return {
            bucket: Counter({k.decode(): int(v) for k, v in stored.items()})
            for bucket, stored in zip(buckets, pipe.execute(), strict=True)
        }

    def forget(self, buckets: Sequence[int]) -> None:
        self.client.delete(*(self._key(bucket) for bucket in buckets))


_memory = MemoryTraffic()


@cache
def traffic_store() -> MemoryTraffic | RedisTraffic:
    """Redis when the default cache is django-redis, else this process's buckets."""
    return pick_store(lambda: _memory, RedisTraffic)


on_settings_change("CACHES")(traffic_store.cache_clear)


def uses_redis() -> bool:
    return redis_cache() is not None


def _latency_slot(ms: float) -> int:
    for slot, bound in enumerate(LATENCY_BOUNDS_MS):
        if ms <= bound:
            return slot
    return len(LATENCY_BOUNDS_MS)


def record(request: HttpRequest, route: Any, status: int, seconds: float) -> None:
    """Count one proxied request (the hot path: a few dict updates under a lock)."""
    bucket = int(time.time()) // BUCKET_SECONDS
    slot = _latency_slot(seconds * 1000)
    fields = [f"route|{route.name}|", f"service|{route.service}|"]
    state = getattr(request, "rate_limit", None)
    with _lock:
        tally = _pending.setdefault(bucket, Counter())
        for prefix in fields:
            tally[prefix + "n"] += 1
            tally[f"{prefix}h{slot}"] += 1
            if status >= 500:
                tally[prefix + "e"] += 1
        if status == 429:
            tally[f"throttled|{getattr(state, 'scope', 'upstream')}|n"] += 1
    if traffic_store() is not _memory:
        _ensure_flusher()  # without Redis, reading the buckets moves them (`buckets`)


def _ensure_flusher() -> None:
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return
    with _lock:
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_flush_forever, name="traffic", daemon=True)
            _flusher.start()


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        flush()


def flush() -> None:
    """Move what piled up into the store: one pipelined round trip. Lost if Redis is down."""
    global _last_failure_log
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return
    try:
        traffic_store().add(batch)
    except Exception as error:
        now = time.monotonic()
        if now - _last_failure_log > FAILURE_LOG_INTERVAL:
            _last_failure_log = now
            logger.warning("dashboard traffic not stored (Redis): %s", error)


def buckets(now: float | None = None) -> dict[int, Counter]:
    """The window's buckets, oldest first, from every process (Redis) or this one."""
    last = int(now if now is not None else time.time()) // BUCKET_SECONDS
    wanted = list(range(last - WINDOW_SECONDS // BUCKET_SECONDS + 1, last + 1))
    store = traffic_store()
    if store is _memory:
        flush()
    try:
        result = store.read(wanted)
    except Exception as error:
        logger.warning("dashboard traffic not read (Redis): %s", error)
        result = {bucket: Counter() for bucket in wanted}
    with _lock:  # what this process has not flushed yet
        for bucket in wanted:
            result[bucket].update(_pending.get(bucket, Counter()))
    return result


@on_test_reset
def _forget() -> None:
    """Empty the figures: this process's, and the window's in the store."""
    with _lock:
        _pending.clear()
    last = int(time.time()) // BUCKET_SECONDS
    first = last - WINDOW_SECONDS // BUCKET_SECONDS
    _memory.forget([])
    traffic_store().forget(list(range(first, last + 2)))
