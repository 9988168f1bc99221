"""Rate limits counted atomically: one Redis round trip per request, or a locked counter.

Algorithm: a fixed window per (scope, client) that opens at the client's first request
and lasts the rate's period. Redis runs INCR, PTTL and (for a new window) PEXPIRE in one
Lua script, so concurrent requests on every worker and replica see distinct counts and a
burst of any size lets exactly `limit` through. DRF's SimpleRateThrottle reads a history
list and writes it back, which loses updates under concurrency; this keeps DRF's
throttle API (allow_request/wait) and replaces only the counting.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from gateway_project.proxy import metrics
from gateway_project.proxy.forwarding import client_ip_for, rate_limit_bucket

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

WINDOW_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's rate syntax ('100/min', '10/s', '5/hour'; also '30/5m'): (limit, seconds)."""
    match = _RATE.match(rate)
    if not match:
        raise ValueError(f"not a rate: {rate!r} (expected like '100/min')")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _PERIODS[unit]


class CounterUnavailable(Exception):
    """The shared counter store cannot be reached: no count for this request."""


class ThrottleBackendUnavailable(APIException):
    status_code = 503
    default_detail = "Rate limiting is unavailable, so this request cannot be accepted now."
    default_code = "rate_limit_unavailable"
    problem_type = "rate-limit-unavailable"
    wait = 5


class LocalWindowCounter:
    """Counts in this process's memory (no Redis: the gateway then runs one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {}

    def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        now = time.monotonic() * 1000
        with self._lock:
            entry = self._windows.get(key)
            if entry is None or entry[1] <= now:
                if len(self._windows) >= 100_000:
                    self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
                entry = self._windows[key] = [0, now + window_ms]
            entry[0] += 1
            return int(entry[0]), int(entry[1] - now)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class RedisWindowCounter:
    """Counts in Redis through the cache's connection pool: one EVALSHA per request."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self._script = None
        self._retry_seconds = settings.GATEWAY["THROTTLE_BACKEND_RETRY_SECONDS"]
        self._down_until = 0.0

    def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        from redis.exceptions import RedisError

        # After a failure, skip Redis for a moment: a blackholed Redis must cost each
        # request nothing, not a socket timeout.
        if time.monotonic() < self._down_until:
            raise CounterUnavailable("Redis failed a moment ago")
        try:
            if self._script is None:
                client = self.cache.client.get_client(write=True)
                self._script = client.register_script(WINDOW_SCRIPT)
            count, ttl = self._script(keys=[self.cache.make_key(key)], args=[window_ms])
        except (RedisError, OSError) as error:
            self._down_until = time.monotonic() + self._retry_seconds
            raise CounterUnavailable(f"{type(error).__name__}: {error}") from error
        return int(count), int(ttl)

    def reset(self) -> None:
        client = self.cache.client.get_client(write=True)
        keys = list(client.scan_iter(match=self.cache.make_key("throttle:*")))
        if keys:
            client.delete(*keys)


@cache
def window_counter() -> LocalWindowCounter | RedisWindowCounter:
    default = caches["default"]
    if hasattr(default, "client") and hasattr(default.client, "get_client"):
        return RedisWindowCounter(default)
    return LocalWindowCounter()


def _reset(*, setting: str, **kwargs: object) -> None:
    if setting in ("CACHES", "GATEWAY"):
        window_counter.cache_clear()


setting_changed.connect(_reset)


@dataclass(frozen=True)
class RateLimitState:
    scope: str
    limit: int
    window: int  # seconds
    remaining: int
    reset: int  # seconds until the window closes

    def headers(self) -> dict[str, str]:
        """Kong's RateLimit-* trio and draft-ietf-httpapi-ratelimit-headers-11's pair."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f'"{self.scope}";q={self.limit};w={self.window}',
            "RateLimit": f'"{self.scope}";r={self.remaining};t={self.reset}',
        }


def throttle_key_for(request: Request, route_scope: str) -> tuple[str, str]:
    """(scope, identity): the client's address (IPv6: its network) for `auth` and anonymous
    callers, else the user id."""
    if route_scope == "default":
        user = request.user
        if user is not None and user.is_authenticated:
            return "user", str(user.pk)
        return "anon", rate_limit_bucket(client_ip_for(request._request))
    return route_scope, rate_limit_bucket(client_ip_for(request._request))


_last_failure_log: dict[str, float] = {}


def _log_backend_failure(scope: str, outcome: str, error: Exception) -> None:
    """Once per interval and scope, so a Redis outage does not flood the log."""
    now = time.monotonic()
    interval = settings.GATEWAY["THROTTLE_FAILURE_LOG_INTERVAL"]
    if now - _last_failure_log.get(scope, float("-inf")) >= interval:
        _last_failure_log[scope] = now
        logger.error(
            "rate-limit counter unavailable for scope %s (%s): %s",
            scope,
            outcome,
            error,
            extra={"throttle_scope": scope, "outcome": outcome},
        )


class GatewayRateThrottle(BaseThrottle):
    """The route's scope, counted atomically; remembers the state for the response headers."""

    def __init__(self, route_scope: str) -> None:
        self.route_scope = route_scope
        self.state: RateLimitState | None = None

    def allow_request(self, request: Request, view: object) -> bool:
        scope, identity = throttle_key_for(request, self.route_scope)
        limit, window = parse_rate(settings.GATEWAY["RATES"][scope])
        try:
            count, ttl_ms = window_counter().hit(f"throttle:{scope}:{identity}", window * 1000)
        except CounterUnavailable as error:
            if scope in settings.GATEWAY["FAIL_CLOSED_SCOPES"]:
                metrics.THROTTLE_BACKEND_FAILURES.labels(scope, "fail_closed").inc()
                _log_backend_failure(scope, "fail_closed", error)
                raise ThrottleBackendUnavailable() from error
            metrics.THROTTLE_BACKEND_FAILURES.labels(scope, "fail_open").inc()
            _log_backend_failure(scope, "fail_open", error)
            request._request.access_log["throttle"] = "unavailable"
            return True
        self.state = RateLimitState(
            scope=scope,
            limit=limit,
            window=window,
            remaining=max(0, limit - count),
            reset=max(1, math.ceil(ttl_ms / 1000)),
        )
        request._request.rate_limit = self.state
        return count <= limit

    def wait(self) -> float | None:
        return self.state.reset if self.state else None
