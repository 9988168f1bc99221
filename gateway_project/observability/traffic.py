"""Per-route traffic for the dashboard: counts by status class, and latencies.

Two tiers of buckets: 10 s ones kept 15 minutes (FINE) and 1 min ones kept an hour
(COARSE). Nothing here runs per request: once a second each process's flush of the
request records (observability.record) adds them to both tiers (`add`). With Redis
(REDIS_URL) that is one pipelined round trip of HINCRBYs into one hash per bucket that
every worker and replica adds to, so the figures cover them all; without Redis (one
gateway process) this process's buckets. Either store is a TrafficStore
(common.limits.state's seam). Latency is a fixed histogram per bucket, the Prometheus
histogram's bounds (observability.metrics.LATENCY_BUCKETS), so p50/p99 merge across
processes.

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

from common.limits.state import pick_store, redis_cache
from common.settings.namespaces import on_settings_change, on_test_reset
from gateway_project.observability.hash_buckets import RedisHashBuckets
from gateway_project.observability.metrics import LATENCY_BUCKETS, RequestKey, Tally

logger = logging.getLogger(__name__)

BUCKET_SECONDS = 10
WINDOW_SECONDS = 15 * 60
COARSE_BUCKET_SECONDS = 60
COARSE_WINDOW_SECONDS = 60 * 60
# Upper bounds (ms) of the latency histogram's buckets (Prometheus's); one more counts the rest.
LATENCY_BOUNDS_MS = tuple(round(bound * 1000, 3) for bound in LATENCY_BUCKETS)
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


def add(records: Mapping[RequestKey, Tally]) -> None:
    """Add a flush's request records (observability.record) to both tiers' buckets."""
    batch: dict[int, Counter[str]] = {}
    for (bucket, route, service, _, status, slot, throttled_by, _), (n, _) in records.items():
        tally = batch.setdefault(bucket, Counter())
        kind = status_field(status)
        for prefix in (f"route|{route}|", f"service|{service}|"):
            tally[prefix + "n"] += int(n)
            tally[f"{prefix}h{slot}"] += int(n)
            tally[prefix + kind] += int(n)
            if kind == "c5":
                tally[prefix + "e"] += int(n)
        if status == 429:
            tally[f"throttled|{throttled_by or 'upstream'}|n"] += int(n)
    if batch:
        traffic_store(FINE).add(batch)
        traffic_store(COARSE).add(_coarse(batch))


def _coarse(batch: Mapping[int, Counter[str]]) -> dict[int, Counter[str]]:
    """10 s buckets added up into the coarse tier's."""
    ratio = COARSE.seconds // FINE.seconds
    result: dict[int, Counter[str]] = {}
    for bucket, tally in batch.items():
        result.setdefault(bucket // ratio, Counter()).update(tally)
    return result


def buckets(now: float | None = None, tier: Tier = FINE) -> dict[int, Counter[str]]:
    """The tier's window of buckets, oldest first, from every process (Redis) or this one:
    what has been flushed (observability.record.flush)."""
    wanted = tier.wanted(now if now is not None else time.time())
    try:
        return traffic_store(tier).read(wanted)
    except Exception as error:
        logger.warning("dashboard traffic not read (Redis): %s", error)
        return {bucket: Counter[str]() for bucket in wanted}


@on_test_reset
def _forget() -> None:
    """Empty the figures: this process's, and the windows' in the store."""
    for tier in TIERS:
        _memories[tier].forget([])
        last = int(time.time()) // tier.seconds
        traffic_store(tier).forget(list(range(last - tier.count, last + 2)))
