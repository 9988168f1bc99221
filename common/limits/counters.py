"""Fixed-window counters counted atomically: one Redis round trip, or a locked dict.

A window per key opens at the key's first hit and lasts the rate's period. Redis runs
INCR, PTTL and (for a new window) PEXPIRE in one Lua script, so concurrent hits on every
worker and replica see distinct counts and a burst of any size lets exactly `limit`
through. DRF's SimpleRateThrottle reads a history list and writes it back, which loses
updates under concurrency; the gateway's throttles and the login limits count here.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol

from common.limits.shared_redis import SharedRedis
from common.limits.state import pick_store
from common.settings.namespaces import on_settings_change
from common.settings.namespaces import (
    parse_rate as parse_rate,
)  # re-exported: parsed once per rate text

WINDOW_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class CounterUnavailable(Exception):
    """The shared counter store cannot be reached: no count for this request."""


class WindowCounter(Protocol):
    """A fixed-window counter: Redis (RedisWindowCounter), the database
    (DatabaseWindowCounter) or memory (LocalWindowCounter), which agree hit for hit."""

    def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        """Count one hit: (the hits in the key's window so far, ms until it closes);
        CounterUnavailable when the store cannot be reached."""
        ...

    def peek(self, key: str) -> int:
        """The count of the window open at `key` (0 when none is): read, not counted."""
        ...

    def reset(self, prefix: str = ...) -> None:
        """Tests: forget the windows whose keys start with `prefix`."""
        ...


def _wall_ms() -> int:
    return int(time.time() * 1000)


class LocalWindowCounter:
    """Counts in this process's memory (no Redis: one process, or a fallback).
    `clock` (ms) is for tests; without one, the hot path reads the monotonic clock inline."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {}
        self._clock = clock

    def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        now = time.monotonic() * 1000 if self._clock is None else self._clock()
        with self._lock:
            entry = self._windows.get(key)
            if entry is None or entry[1] <= now:
                if len(self._windows) >= 100_000:
                    self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
                entry = self._windows[key] = [0, now + window_ms]
            entry[0] += 1
            return int(entry[0]), int(entry[1] - now)

    def peek(self, key: str) -> int:
        now = time.monotonic() * 1000 if self._clock is None else self._clock()
        with self._lock:
            entry = self._windows.get(key)
            return int(entry[0]) if entry is not None and entry[1] > now else 0

    def reset(self, prefix: str = "") -> None:
        with self._lock:
            for key in [key for key in self._windows if key.startswith(prefix)]:
                del self._windows[key]


class RedisWindowCounter(SharedRedis):
    """Counts in Redis through the cache's connection pool: one EVALSHA per hit. After a
    failure Redis is skipped for `retry_seconds`: a blackholed Redis must cost each
    request nothing, not a socket timeout."""

    def __init__(self, cache: Any, *, retry_seconds: float = 1.0) -> None:
        super().__init__(cache, retry_seconds=retry_seconds)

    def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        if not self.available():
            raise CounterUnavailable("Redis failed a moment ago")
        try:
            count, ttl = self.script(WINDOW_SCRIPT, [key], [window_ms])
        except self.errors as error:
            self.failed(error)
            raise CounterUnavailable(f"{type(error).__name__}: {error}") from error
        return int(count), int(ttl)

    def peek(self, key: str) -> int:
        if not self.available():
            raise CounterUnavailable("Redis failed a moment ago")
        try:
            found = self.call("get", key)
        except self.errors as error:
            self.failed(error)
            raise CounterUnavailable(f"{type(error).__name__}: {error}") from error
        return int(found or 0)

    def reset(self, prefix: str = "throttle:") -> None:
        self.delete_matching(f"{prefix}*")


class DatabaseWindowCounter:
    """Counts in the project's database (common.models.WindowCount): shared by every
    worker without Redis. One upsert per hit, atomic on SQLite and PostgreSQL alike, so
    it is for rare events (logins), not for every request. `clock` (ms) is for tests."""

    def __init__(self, clock: Callable[[], int] = _wall_ms) -> None:
        self._clock = clock

    SQL = """
        INSERT INTO common_windowcount (key, count, expires_ms) VALUES (%s, 1, %s)
        ON CONFLICT (key) DO UPDATE SET
            count = CASE WHEN common_windowcount.expires_ms <= %s
                         THEN 1 ELSE common_windowcount.count + 1 END,
            expires_ms = CASE WHEN common_windowcount.expires_ms <= %s
                              THEN excluded.expires_ms ELSE common_windowcount.expires_ms END
        RETURNING count, expires_ms
    """

    def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        from django.db import DatabaseError, connection

        now = self._clock()
        try:
            with connection.cursor() as cursor:
                cursor.execute(self.SQL, [key, now + window_ms, now, now])
                count, expires = cursor.fetchone()
                if count == 1 and random.random() < 0.01:
                    cursor.execute("DELETE FROM common_windowcount WHERE expires_ms < %s", [now])
        except DatabaseError as error:
            raise CounterUnavailable(f"{type(error).__name__}: {error}") from error
        return int(count), int(expires - now)

    def peek(self, key: str) -> int:
        from django.db import DatabaseError

        from common.models import WindowCount

        try:
            found = WindowCount.objects.filter(key=key, expires_ms__gt=self._clock()).first()
        except DatabaseError as error:
            raise CounterUnavailable(f"{type(error).__name__}: {error}") from error
        return found.count if found is not None else 0

    def reset(self, prefix: str = "") -> None:
        from common.models import WindowCount

        WindowCount.objects.filter(key__startswith=prefix).delete()


@cache
def window_counter() -> LocalWindowCounter | RedisWindowCounter:
    """The process's counter on the default cache: Redis when it is one, else memory."""
    return pick_store(LocalWindowCounter, RedisWindowCounter)


on_settings_change("CACHES")(window_counter.cache_clear)
