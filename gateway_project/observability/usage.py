"""Usage per consumer: for each UTC day and route, requests by status class and a latency
histogram, kept KEEP_DAYS days.

Each process's flush of the request records (observability.record) adds the requests of
API keys' consumers here (`add`), with its own round trip. With Redis one hash per
consumer and day (`gateway:usage:<consumer>:<day>`) that every worker
and replica adds to, expiring KEEP_DAYS + 1 days after its last addition; without Redis
(one gateway process) this process's memory, the days past KEEP_DAYS let go.

Fields, per route the consumer called that day: `<route>|n`, `<route>|c2` `c3` `c4`
`c429` `c5`, `<route>|h0`..`h13`: at most 20 counters per route and day, 620 per route a
consumer calls over the 31 days, however much it calls (the 5 routes that take keys:
3,100 counters, about 100 KB in Redis, per consumer at most).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from functools import cache
from typing import Any

from common.limits.state import pick_store
from common.settings.namespaces import on_settings_change, on_test_reset
from gateway_project.observability.hash_buckets import RedisHashBuckets
from gateway_project.observability.metrics import RequestKey, Tally
from gateway_project.observability.traffic import BUCKET_SECONDS, status_field

DAY_SECONDS = 86_400
KEEP_DAYS = 31
KEY = "gateway:usage:{}"

BUCKETS_PER_DAY = DAY_SECONDS // BUCKET_SECONDS  # the records' buckets are traffic's


def today() -> int:
    return int(time.time()) // DAY_SECONDS


class MemoryUsage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[tuple[int, int], Counter[str]] = {}

    def add(self, batch: dict[tuple[int, int], Counter[str]]) -> None:
        oldest = today() - KEEP_DAYS
        with self._lock:
            for key, tally in batch.items():
                self._days.setdefault(key, Counter()).update(tally)
            for key in [key for key in self._days if key[1] < oldest]:
                del self._days[key]

    def read(self, consumer: int, days: list[int]) -> dict[int, Counter[str]]:
        with self._lock:
            return {day: Counter(self._days.get((consumer, day), ())) for day in days}

    def forget(self) -> None:
        with self._lock:
            self._days.clear()


class RedisUsage:
    """One hash per consumer and day (observability.hash_buckets), kept KEEP_DAYS + 1 days
    after its last addition."""

    def __init__(self, cache: Any) -> None:
        self.buckets = RedisHashBuckets(cache, KEY, (KEEP_DAYS + 1) * DAY_SECONDS)

    def add(self, batch: dict[tuple[int, int], Counter[str]]) -> None:
        self.buckets.add({f"{consumer}:{day}": tally for (consumer, day), tally in batch.items()})

    def read(self, consumer: int, days: list[int]) -> dict[int, Counter[str]]:
        found = self.buckets.read([f"{consumer}:{day}" for day in days])
        return {day: found[f"{consumer}:{day}"] for day in days}

    def forget(self) -> None:
        self.buckets.forget_all()


_memory = MemoryUsage()


@cache
def usage_store() -> MemoryUsage | RedisUsage:
    return pick_store(lambda: _memory, RedisUsage)


on_settings_change("CACHES")(usage_store.cache_clear)


def add(records: Mapping[RequestKey, Tally]) -> None:
    """Add a flush's request records (observability.record): those of a consumer."""
    batch: dict[tuple[int, int], Counter[str]] = {}
    for (bucket, route, _, _, status, slot, _, consumer), (n, _) in records.items():
        if consumer is None:
            continue
        tally = batch.setdefault((consumer, bucket // BUCKETS_PER_DAY), Counter())
        tally[f"{route}|n"] += int(n)
        tally[f"{route}|{status_field(status)}"] += int(n)
        tally[f"{route}|h{slot}"] += int(n)
    if batch:
        usage_store().add(batch)


def read(consumer: int, days: int = 30) -> dict[int, Counter[str]]:
    """The consumer's last `days` UTC days (today included), oldest first: what has been
    flushed (observability.record.flush)."""
    wanted = list(range(today() - days + 1, today() + 1))
    return usage_store().read(consumer, wanted)


@on_test_reset
def _forget() -> None:
    usage_store().forget()
