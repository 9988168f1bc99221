"""Per-route traffic in 10-second buckets, for the dashboard: counts, errors, latencies.

The request path only adds to a dict under a lock (`record`). With Redis (REDIS_URL), a
thread per process flushes what piled up once a second, one pipelined round trip of
HINCRBYs into one hash per bucket that every worker and replica adds to, so the figures
cover them all; without Redis (one gateway process) the buckets stay in memory. Latency
is a fixed histogram per bucket, so p50/p99 merge across processes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

BUCKET_SECONDS = 10
WINDOW_SECONDS = 15 * 60
FLUSH_SECONDS = 1.0
FAILURE_LOG_INTERVAL = 60.0
# Upper bounds (ms) of the latency histogram's buckets; one more counts the rest.
LATENCY_BOUNDS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
KEY = "gateway:traffic:{}"

_lock = threading.Lock()
_pending: dict[int, Counter] = {}  # bucket -> field -> count, not yet in the store
_memory: dict[int, Counter] = {}  # the store when there is no Redis
_flusher: threading.Thread | None = None
_last_failure_log = 0.0


def uses_redis() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


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
    redis = uses_redis()
    with _lock:
        tally = (_pending if redis else _memory).setdefault(bucket, Counter())
        for prefix in fields:
            tally[prefix + "n"] += 1
            tally[f"{prefix}h{slot}"] += 1
            if status >= 500:
                tally[prefix + "e"] += 1
        if status == 429:
            tally[f"throttled|{getattr(state, 'scope', 'upstream')}|n"] += 1
    if redis:
        _ensure_flusher()


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


def _client() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def flush() -> None:
    """Move what piled up into Redis: one pipelined round trip. Lost if Redis is down."""
    global _last_failure_log
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return
    try:
        pipe = _client().pipeline(transaction=False)
        for bucket, tally in batch.items():
            key = cache.make_key(KEY.format(bucket))
            for field, count in tally.items():
                pipe.hincrby(key, field, count)
            pipe.expire(key, WINDOW_SECONDS + 2 * BUCKET_SECONDS)
        pipe.execute()
    except Exception as error:
        now = time.monotonic()
        if now - _last_failure_log > FAILURE_LOG_INTERVAL:
            _last_failure_log = now
            logger.warning("dashboard traffic not stored (Redis): %s", error)


def buckets(now: float | None = None) -> dict[int, Counter]:
    """The window's buckets, oldest first, from every process (Redis) or this one."""
    last = int(now if now is not None else time.time()) // BUCKET_SECONDS
    wanted = list(range(last - WINDOW_SECONDS // BUCKET_SECONDS + 1, last + 1))
    result = {bucket: Counter() for bucket in wanted}
    if uses_redis():
        try:
            pipe = _client().pipeline(transaction=False)
            for bucket in wanted:
                pipe.hgetall(cache.make_key(KEY.format(bucket)))
            for bucket, stored in zip(wanted, pipe.execute(), strict=True):
                result[bucket].update({k.decode(): int(v) for k, v in stored.items()})
        except Exception as error:
            logger.warning("dashboard traffic not read (Redis): %s", error)
    with _lock:
        local = _pending if uses_redis() else _memory
        for bucket in [b for b in _memory if b < wanted[0]]:
            del _memory[bucket]
        for bucket in wanted:
            result[bucket].update(local.get(bucket, Counter()))
    return result


def forget() -> None:
    """Empty the figures: this process's, and the window's in Redis (tests)."""
    with _lock:
        _pending.clear()
        _memory.clear()
    if uses_redis():
        last = int(time.time()) // BUCKET_SECONDS
        first = last - WINDOW_SECONDS // BUCKET_SECONDS
        _client().delete(*(cache.make_key(KEY.format(b)) for b in range(first, last + 2)))
