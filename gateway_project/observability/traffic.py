"""Per-route traffic for the dashboard: counts by status class, and latencies.

Two tiers of buckets: 10 s ones kept 15 minutes (FINE) and 1 min ones kept an hour
(COARSE). The request path only adds to a dict of 10 s buckets under a lock (`record`);
`flush` adds what piled up to both tiers. With Redis (REDIS_URL), a thread per process
flushes once a second, one pipelined round trip of HINCRBYs into one hash per bucket
that every worker and replica adds to, so the figures cover them all; without Redis (one
gateway process) they move into this process's buckets when the dashboard reads them.
Either store is a TrafficStore (common.limits.state's seam). Latency is a fixed histogram
per bucket, so p50/p99 merge across processes.

Fields of a bucket, for each route (`route|<name>|`) and service (`service|<name>|`):
`n` (requests), `c2` `c3` `c4` `c429` `c5` (by status class; `c4` is 4xx but 429, `c1`
the rare 1xx), `e` (5xx, as `c5`: older readers), `h0`..`h13` (the latency histogram);
and `throttled|<scope>|n` (429s by the throttle scope that refused, `upstream` when the
service answered 429). At most 22 fields per route and per service in a bucket, and
90 + 60 buckets: 3,300 counters per route at most (in Redis about 150 KB), bounded
whatever the traffic.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.http import HttpRequest

from common.limits.state import pick_store, redis_cache
from common.settings.namespaces import on_settings_change, on_test_reset
from gateway_project.observability import usage
from gateway_project.observability.hash_buckets import RedisHashBuckets

logger = logging.getLogger(__name__)

BUCKET_SECONDS = 10
WINDOW_SECONDS = 15 * 60
COARSE_BUCKET_SECONDS = 60
COARSE_WINDOW_SECONDS = 60 * 60
FLUSH_SECONDS = 1.0
FAILURE_LOG_INTERVAL = 60.0
# Upper bounds (ms) of the latency histogram's buckets; one more counts the rest.
LATENCY_BOUNDS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
KEY = "gateway:traffic:{}"
KEEP_SECONDS = WINDOW_SECONDS + 2 * BUCKET_SECONDS  # a bucket outlives the window


@dataclass(frozen=True)
class Tier:
    """Buckets of `seconds` each, the last `window` seconds of them kept."""

    seconds: int
    window: int
    key: str  # the Redis key of one bucket, formatted with its number

    @property
    def keep(self) -> int:
        return self.window + 2 * self.seconds

    @property
    def count(self) -> int:
        return self.window // self.seconds

    def wanted(self, now: float) -> list[int]:
        last = int(now) // self.seconds
        return list(range(last - self.count + 1, last + 1))


FINE = Tier(BUCKET_SECONDS, WINDOW_SECONDS, KEY)
COARSE = Tier(COARSE_BUCKET_SECONDS, COARSE_WINDOW_SECONDS, "gateway:traffic:1m:{}")
TIERS = (FINE, COARSE)

_lock = threading.Lock()
_flushing = threading.Lock()  # one flush at a time, and no read in the middle of one
_pending: dict[int, Counter[str]] = {}  # bucket -> field -> count, not yet in the store
_flusher: threading.Thread | None = None
_last_failure_log = 0.0


class TrafficStore(Protocol):
    """Where the buckets are added up: Redis (RedisTraffic, every process's) or this
    process's memory (MemoryTraffic)."""

    def add(self, batch: Mapping[int, Counter[str]]) -> None:
        """Add each bucket's counts to what the store has."""
        ...

    def read(self, buckets: Sequence[int]) -> dict[int, Counter[str]]:
        """The counts of these buckets (oldest first); older ones may be let go."""
        ...

    def forget(self, buckets: Sequence[int]) -> None: ...


class MemoryTraffic:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[int, Counter[str]] = {}

    def add(self, batch: Mapping[int, Counter[str]]) -> None:
        with self._lock:
            for bucket, tally in batch.items():
                self._buckets.setdefault(bucket, Counter()).update(tally)

    def read(self, buckets: Sequence[int]) -> dict[int, Counter[str]]:
        with self._lock:
            for bucket in [b for b in self._buckets if b < buckets[0]]:
                del self._buckets[bucket]
            return {bucket: Counter(self._buckets.get(bucket, ())) for bucket in buckets}

    def forget(self, buckets: Sequence[int]) -> None:
        with self._lock:
            self._buckets.clear()


class RedisTraffic(RedisHashBuckets):
    """One hash per bucket, kept KEEP_SECONDS after its last addition; one pipelined
    round trip to add a batch or read the window (observability.hash_buckets)."""

    def __init__(self, cache: Any, key: str = KEY, keep: int = KEEP_SECONDS) -> None:
        super().__init__(cache, key, keep)


_memories = {tier: MemoryTraffic() for tier in TIERS}
_memory = _memories[FINE]


@cache
def traffic_store(tier: Tier = FINE) -> MemoryTraffic | RedisTraffic:
    """Redis when the default cache is django-redis, else this process's buckets."""
    return pick_store(lambda: _memories[tier], lambda c: RedisTraffic(c, tier.key, tier.keep))


on_settings_change("CACHES")(traffic_store.cache_clear)


def uses_redis() -> bool:
    return redis_cache() is not None


# The status classes the figures show, and the bucket field that counts each.
CLASSES = {"2xx": "c2", "3xx": "c3", "4xx": "c4", "429": "c429", "5xx": "c5"}


def percentile(histogram: list[int], q: float) -> float | None:
    """The q-quantile (ms) of a latency histogram, interpolated inside its bucket."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for slot, count in enumerate(histogram):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS_MS[slot - 1] if slot else 0.0
            upper = LATENCY_BOUNDS_MS[slot] if slot < len(LATENCY_BOUNDS_MS) else lower * 2
            return round(lower + (upper - lower) * (rank - seen) / count, 2)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


def status_field(status: int) -> str:
    """The bucket field that counts an answer of `status` (`c4` is 4xx but 429)."""
    return "c429" if status == 429 else f"c{min(status // 100, 5)}"


def _latency_slot(ms: float) -> int:
    for slot, bound in enumerate(LATENCY_BOUNDS_MS):
        if ms <= bound:
            return slot
    return len(LATENCY_BOUNDS_MS)


def record(request: HttpRequest, route: Any, status: int, seconds: float) -> None:
    """Count one proxied request (the hot path: a few dict updates under a lock)."""
    bucket = int(time.time()) // BUCKET_SECONDS
    slot = _latency_slot(seconds * 1000)
    kind = status_field(status)
    fields = [f"route|{route.name}|", f"service|{route.service}|"]
    state = getattr(request, "rate_limit", None)
    with _lock:
        tally = _pending.setdefault(bucket, Counter())
        for prefix in fields:
            tally[prefix + "n"] += 1
            tally[f"{prefix}h{slot}"] += 1
            tally[prefix + kind] += 1
            if kind == "c5":
                tally[prefix + "e"] += 1
        if status == 429:
            tally[f"throttled|{getattr(state, 'scope', 'upstream')}|n"] += 1
    if (consumer := getattr(getattr(request, "user", None), "consumer_id", None)) is not None:
        usage.record(consumer, route.name, kind, slot)
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
    # A reader holds this too: a batch taken from `_pending` but not yet in both tiers'
    # stores is in neither place it reads.
    with _flushing:
        try:
            usage.flush()
            with _lock:
                batch = dict(_pending)
                _pending.clear()
            if batch:
                traffic_store(FINE).add(batch)
                traffic_store(COARSE).add(_coarse(batch))
        except Exception as error:
            now = time.monotonic()
            if now - _last_failure_log > FAILURE_LOG_INTERVAL:
                _last_failure_log = now
                logger.warning("dashboard traffic not stored (Redis): %s", error)


def _coarse(batch: Mapping[int, Counter[str]]) -> dict[int, Counter[str]]:
    """10 s buckets added up into the coarse tier's."""
    ratio = COARSE.seconds // FINE.seconds
    result: dict[int, Counter[str]] = {}
    for bucket, tally in batch.items():
        result.setdefault(bucket // ratio, Counter()).update(tally)
    return result


def buckets(now: float | None = None, tier: Tier = FINE) -> dict[int, Counter[str]]:
    """The tier's window of buckets, oldest first, from every process (Redis) or this one."""
    wanted = tier.wanted(now if now is not None else time.time())
    store = traffic_store(tier)
    if store is _memories[tier]:
        flush()
    with _flushing:  # not while a batch is between `_pending` and the store
        try:
            result = store.read(wanted)
        except Exception as error:
            logger.warning("dashboard traffic not read (Redis): %s", error)
            result = {bucket: Counter[str]() for bucket in wanted}
        with _lock:  # what this process has not flushed yet
            pending = {bucket: Counter(tally) for bucket, tally in _pending.items()}
    for bucket, tally in (pending if tier is FINE else _coarse(pending)).items():
        if bucket in result:
            result[bucket].update(tally)
    return result


@on_test_reset
def _forget() -> None:
    """Empty the figures: this process's, and the windows' in the store."""
    with _lock:
        _pending.clear()
    for tier in TIERS:
        _memories[tier].forget([])
        last = int(time.time()) // tier.seconds
        traffic_store(tier).forget(list(range(last - tier.count, last + 2)))
