"""Circuit breakers per instance, shared by every gateway worker and replica through Redis.

closed → open after `failures` consecutive failures → every request fails fast while open
→ half-open after the reset timeout, where exactly one trial request (across all workers
and replicas: an atomic claim in Redis) goes through → closed on its success, open again
(for longer) on its failure. Each reopening doubles the open time, up to 8 times.

Why not pybreaker's `call()`: it holds one lock for the whole guarded call (pybreaker
issue #55), so every request through a breaker would wait for the one before it
(docs/performance.md has the measurement). The state machine here runs in small Lua
scripts, the same way the rate limiter counts; while a breaker is closed a request costs
no Redis round trip at all: each process keeps the state it last saw, and asks Redis
again only when a failure is recorded or an open period it knows of has run out.
Without Redis (or while Redis fails) the same scripts' logic runs in process memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, overload

from common.limits.shared_redis import SharedRedis
from common.upstreams import metrics

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
MAX_BACKOFF = 8  # the open time grows to at most this many reset timeouts
KEEP_MS = 86_400_000  # a breaker's state is forgotten a day after its last failure
# While another process holds the trial, look again this often: its success closes it.
TRIAL_POLL_SECONDS = 0.2


# KEYS[1] the breaker hash. ARGV: threshold, reset_ms, trial_ms, is_trial, window_ms,
# max backoff [, now]. Returns {state, ms until the open period ends (0 when closed),
# transition or ''}.
_FAILURE = """
local t = redis.call('TIME')  -- ARGV[7], when given, is a test's clock
local now = tonumber(ARGV[7]) or t[1] * 1000 + math.floor(t[2] / 1000)
local key = KEYS[1]
local threshold, reset = tonumber(ARGV[1]), tonumber(ARGV[2])
local is_trial, window = ARGV[4] == '1', tonumber(ARGV[5])
local state = redis.call('HGET', key, 'state') or 'closed'
local function open()
  local opens = redis.call('HINCRBY', key, 'opens', 1)
  local mult = math.min(2 ^ (opens - 1), tonumber(ARGV[6]))
  local untl = now + reset * mult
  redis.call('HSET', key, 'state', 'open', 'until', untl, 'trial_until', 0, 'failures', 0)
  redis.call('PEXPIRE', key, KEEP_MS)
  return untl
end
if state == 'open' then
  local untl = tonumber(redis.call('HGET', key, 'until'))
  if is_trial then return {'open', open() - now, 'open'} end
  return {'open', math.max(untl - now, 0), ''}
end
local last = tonumber(redis.call('HGET', key, 'failed_at') or 0)
if now - last > window then redis.call('HSET', key, 'failures', 0) end
local failures = redis.call('HINCRBY', key, 'failures', 1)
redis.call('HSET', key, 'failed_at', now)
redis.call('PEXPIRE', key, KEEP_MS)
if failures >= threshold then return {'open', open() - now, 'open'} end
return {'closed', 0, ''}
""".replace("KEEP_MS", str(KEEP_MS))

# KEYS[1] the breaker hash. ARGV: trial_ms [, now]. A claim of the one trial once the open
# period is over: {state, ms to wait before asking again, transition or ''}.
_ACQUIRE = """
local t = redis.call('TIME')  -- ARGV[2], when given, is a test's clock
local now = tonumber(ARGV[2]) or t[1] * 1000 + math.floor(t[2] / 1000)
local key = KEYS[1]
local state = redis.call('HGET', key, 'state')
if state ~= 'open' then return {'closed', 0, ''} end
local untl = tonumber(redis.call('HGET', key, 'until'))
if now < untl then return {'open', untl - now, ''} end
local trial = tonumber(redis.call('HGET', key, 'trial_until') or 0)
if now < trial then return {'open', trial - now, ''} end
redis.call('HSET', key, 'trial_until', now + tonumber(ARGV[1]))
return {'half_open', 0, 'half_open'}
"""

# KEYS[1] the breaker hash. ARGV: is_trial, decay_ms [, now]. A success: the trial closes
# the breaker; any success clears the failure count. After a long calm the back-off resets.
_SUCCESS = """
local t = redis.call('TIME')  -- ARGV[3], when given, is a test's clock
local now = tonumber(ARGV[3]) or t[1] * 1000 + math.floor(t[2] / 1000)
local key = KEYS[1]
-- No breaker (never failed, or kept past KEEP_MS): nothing to clear, and no key made
-- without an expiry.
if redis.call('EXISTS', key) == 0 then return {'closed', 0, ''} end
local state = redis.call('HGET', key, 'state') or 'closed'
if state == 'open' then
  if ARGV[1] ~= '1' then return {'open', 0, ''} end
  redis.call('HSET', key, 'state', 'closed', 'failures', 0, 'trial_until', 0, 'closed_at', now)
  return {'closed', 0, 'closed'}
end
redis.call('HSET', key, 'failures', 0)
local closed_at = tonumber(redis.call('HGET', key, 'closed_at') or 0)
if closed_at > 0 and now - closed_at > tonumber(ARGV[2]) then
  redis.call('HSET', key, 'opens', 0, 'closed_at', 0)
end
return {'closed', 0, ''}
"""


@dataclass
class BreakerSettings:
    failures: int
    reset_seconds: float
    trial_seconds: float  # how long one trial may hold the half-open state
    window_seconds: float = 60.0  # failures further apart than this are not consecutive

    @property
    def decay_ms(self) -> int:
        return int(self.reset_seconds * 1000 * MAX_BACKOFF * 4)


class BreakerStore(Protocol):
    """A breaker's shared state machine, one key per instance: the three transitions
    answer (state, ms until the caller should ask again, transition made or '')."""

    def failure(self, key: str, s: BreakerSettings, is_trial: bool) -> tuple[str, int, str]: ...

    def acquire(self, key: str, s: BreakerSettings) -> tuple[str, int, str]: ...

    def success(self, key: str, s: BreakerSettings, is_trial: bool) -> tuple[str, int, str]: ...

    def read(self, key: str) -> dict[str, Any]:
        """The stored fields (the status page)."""
        ...

    def reset(self) -> None: ...


def _wall_ms() -> int:
    return int(time.time() * 1000)


class MemoryBreakerStore:
    """The Lua scripts' logic for one process: no Redis, or Redis failing. `clock` (ms)
    is for tests; a breaker is forgotten KEEP_MS after its last failure, as in Redis."""

    def __init__(self, clock: Callable[[], int] = _wall_ms) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, dict[str, Any]] = {}
        self._expires: dict[str, int] = {}  # key -> when its state is forgotten (PEXPIRE)
        self._now = clock

    @overload
    def _entry(self, key: str, now: int, create: Literal[True]) -> dict[str, Any]: ...
    @overload
    def _entry(self, key: str, now: int, create: Literal[False]) -> dict[str, Any] | None: ...
    def _entry(self, key: str, now: int, create: bool) -> dict[str, Any] | None:
        """The key's state (under the lock), forgotten once its time is up."""
        expires = self._expires.get(key)
        if expires is not None and expires <= now:
            del self._expires[key]
            self._states.pop(key, None)
        if create:
            return self._states.setdefault(key, {})
        return self._states.get(key)

    def _open(self, key: str, entry: dict[str, Any], now: int, reset_ms: int) -> int:
        self._expires[key] = now + KEEP_MS
        entry["opens"] = entry.get("opens", 0) + 1
        until = now + int(reset_ms * min(2 ** (entry["opens"] - 1), MAX_BACKOFF))
        entry.update(state=OPEN, until=until, trial_until=0, failures=0)
        return until

    def failure(self, key: str, s: BreakerSettings, is_trial: bool) -> tuple[str, int, str]:
        now, reset_ms = self._now(), int(s.reset_seconds * 1000)
        with self._lock:
            entry = self._entry(key, now, create=True)
            if entry.get("state") == OPEN:
                if is_trial:
                    return OPEN, self._open(key, entry, now, reset_ms) - now, OPEN
                return OPEN, max(int(entry["until"]) - now, 0), ""
            if now - entry.get("failed_at", 0) > s.window_seconds * 1000:
                entry["failures"] = 0
            entry["failures"] = entry.get("failures", 0) + 1
            entry["failed_at"] = now
            self._expires[key] = now + KEEP_MS
            if entry["failures"] >= s.failures:
                return OPEN, self._open(key, entry, now, reset_ms) - now, OPEN
            return CLOSED, 0, ""

    def acquire(self, key: str, s: BreakerSettings) -> tuple[str, int, str]:
        now = self._now()
        with self._lock:
            entry = self._entry(key, now, create=False)
            if entry is None or entry.get("state") != OPEN:
                return CLOSED, 0, ""
            if now < entry["until"]:
                return OPEN, int(entry["until"]) - now, ""
            if now < entry.get("trial_until", 0):
                return OPEN, int(entry["trial_until"]) - now, ""
            entry["trial_until"] = now + int(s.trial_seconds * 1000)
            return HALF_OPEN, 0, HALF_OPEN

    def success(self, key: str, s: BreakerSettings, is_trial: bool) -> tuple[str, int, str]:
        now = self._now()
        with self._lock:
            entry = self._entry(key, now, create=False)
            if entry is None:  # as in Redis: nothing to clear, nothing kept
                return CLOSED, 0, ""
            if entry.get("state") == OPEN:
                if not is_trial:
                    return OPEN, 0, ""
                entry.update(state=CLOSED, failures=0, trial_until=0, closed_at=now)
                return CLOSED, 0, CLOSED
            entry["failures"] = 0
            if entry.get("closed_at") and now - entry["closed_at"] > s.decay_ms:
                entry.update(opens=0, closed_at=0)
            return CLOSED, 0, ""

    def read(self, key: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._entry(key, self._now(), create=False) or {})

    def reset(self) -> None:
        with self._lock:
            self._states.clear()
            self._expires.clear()


class RedisBreakerStore:
    """The same three transitions as atomic scripts in Redis; `read` for the status page.
    The scripts read Redis' clock, one for every process; `clock` (ms) is for tests."""

    def __init__(self, redis: SharedRedis, clock: Callable[[], int] | None = None) -> None:
        self.redis = redis
        self._clock = clock

    def _script(self, source: str, key: str, args: list[Any]) -> tuple[str, int, str]:
        if self._clock is not None:
            args.append(self._clock())
        return _decode(self.redis.script(source, [key], args))

    def failure(self, key: str, s: BreakerSettings, is_trial: bool) -> tuple[str, int, str]:
        args = [
            s.failures,
            int(s.reset_seconds * 1000),
            int(s.trial_seconds * 1000),
            int(is_trial),
            int(s.window_seconds * 1000),
            MAX_BACKOFF,
        ]
        return self._script(_FAILURE, key, args)

    def acquire(self, key: str, s: BreakerSettings) -> tuple[str, int, str]:
        return self._script(_ACQUIRE, key, [int(s.trial_seconds * 1000)])

    def success(self, key: str, s: BreakerSettings, is_trial: bool) -> tuple[str, int, str]:
        return self._script(_SUCCESS, key, [int(is_trial), s.decay_ms])

    def read(self, key: str) -> dict[str, Any]:
        raw = self.redis.call("hgetall", key)
        return {_text(k): _text(v) for k, v in raw.items()}

    def reset(self) -> None:
        self.redis.delete_matching("breaker:*")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode(result: list[Any]) -> tuple[str, int, str]:
    state, wait, change = result
    return _text(state), int(wait), _text(change)


class Breakers:
    """Every instance's breaker in this process: the last state seen, and the shared store.

    `allow` is called before each request to an instance; `record` after it. The store
    is Redis when configured; if Redis fails, memory takes over for a moment, so a Redis
    outage degrades breakers to per-process ones instead of stopping traffic.
    """

    def __init__(self, settings: BreakerSettings, redis: SharedRedis | None) -> None:
        self.settings = settings
        self.memory = MemoryBreakerStore()
        self.shared = RedisBreakerStore(redis) if redis is not None else None
        self._lock = threading.Lock()
        # key -> (state, local monotonic time until which that state is taken as known)
        self._seen: dict[str, tuple[str, float]] = {}
        self._dirty: set[str] = set()  # keys this process recorded failures for

    def _run(self, method: str, *args: Any) -> Any:
        if self.shared is not None and self.shared.redis.available():
            try:
                return getattr(self.shared, method)(*args)
            except self.shared.redis.errors as error:
                self.shared.redis.failed(error)
        return getattr(self.memory, method)(*args)

    def _remember(self, key: str, service: str, result: tuple[str, int, str]) -> str:
        state, wait_ms, change = result
        with self._lock:
            self._seen[key] = (state, time.monotonic() + wait_ms / 1000)
        if change:
            self._report(key, service, change)
        return state

    @staticmethod
    def _report(key: str, service: str, change: str) -> None:
        """A transition, counted and logged once: by the process whose script made it."""
        metrics.BREAKER_TRANSITIONS.labels(service, change).inc()
        logger.warning(
            "breaker %s: %s", key, change, extra={"breaker": key, "breaker_state": change}
        )

    def known_state(self, key: str) -> tuple[str, float]:
        """(state, seconds left) as this process last saw it, without asking anyone."""
        state, until = self._seen.get(key, (CLOSED, 0.0))
        return state, max(0.0, until - time.monotonic())

    def allow(self, key: str, service: str) -> str:
        """closed (go), half_open (go: this request is the one trial) or open (fail fast)."""
        state, left = self.known_state(key)
        if state == CLOSED or left > 0:
            return state
        state, wait_ms, change = self._run("acquire", key, self.settings)
        if state == HALF_OPEN:
            # The trial is this request's; the others see open until it ends.
            with self._lock:
                self._seen[key] = (OPEN, time.monotonic() + TRIAL_POLL_SECONDS)
            self._report(key, service, change)
            return HALF_OPEN
        if state == OPEN:
            # Still open, or another process holds the trial: look again soon (its success
            # closes the breaker), and at once when the open period ends sooner.
            poll_ms = int(TRIAL_POLL_SECONDS * 1000)
            wait_ms = min(wait_ms or poll_ms, poll_ms)
        return self._remember(key, service, (state, wait_ms, change))

    def record(self, key: str, service: str, *, ok: bool, trial: bool) -> None:
        if ok:
            if not trial and key not in self._dirty:
                return  # the common case: nothing this process counted to clear
            self._dirty.discard(key)
            self._remember(key, service, self._run("success", key, self.settings, trial))
            return
        self._dirty.add(key)
        self._remember(key, service, self._run("failure", key, self.settings, trial))

    def sync(self, key: str) -> None:
        """Learn a breaker another process opened (the maintenance thread, once a second),
        so this one fails fast too instead of finding out with a request of its own."""
        if self.shared is None or not self.shared.redis.available():
            return
        try:
            entry = self.shared.read(key)
        except self.shared.redis.errors as error:
            self.shared.redis.failed(error)
            return
        if entry.get("state") != OPEN:
            return
        left = (float(entry.get("until", 0)) - time.time() * 1000) / 1000
        with self._lock:
            state, _ = self._seen.get(key, (CLOSED, 0.0))
            if state == CLOSED and left > 0:
                self._seen[key] = (OPEN, time.monotonic() + left)

    def read(self, key: str) -> dict[str, Any]:
        """The shared state of one breaker (for the status page), memory's on failure."""
        state: dict[str, Any] = self._run("read", key)
        return state

    def state_for_status(self, key: str) -> str:
        entry = self.read(key)
        if entry.get("state") != OPEN:
            return CLOSED
        now_ms = time.time() * 1000
        return OPEN if now_ms < float(entry.get("until", 0)) else HALF_OPEN

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
            self._dirty.clear()
        self.memory.reset()
        if self.shared is not None:
            self.shared.reset()
