"""Login limits for every project: who the client is, and attempts counted atomically.

Counts on Redis when the cache is Redis, else in the project's database (every worker
sees the same counts either way). When Redis cannot be reached the attempt is counted in
the database instead, and when that fails too, in this process's memory: logins keep
working (never a 500, never a 503) and stay limited.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.http import HttpRequest
from rest_framework.exceptions import Throttled

from common.limits.client_address import address_in, forwarded_client, trusted_networks
from common.limits.counters import (
    CounterUnavailable,
    DatabaseWindowCounter,
    LocalWindowCounter,
    RedisWindowCounter,
    parse_rate,
    window_counter,
)
from common.settings.namespaces import Rate, common_settings, on_test_reset

logger = logging.getLogger(__name__)

KEY_PREFIX = "login:"
_database = DatabaseWindowCounter()
_memory = LocalWindowCounter()
_last_fallback_log = [float("-inf")]


class LoginThrottled(Throttled):
    default_detail = "Too many login attempts; try again later."
    problem_type = "login-throttled"


@dataclass(frozen=True)
class Limit:
    """One counter an attempt is counted on: `key` names the window, `rate` bounds it."""

    key: str
    rate: str | Rate


def _is_trusted(address: str) -> bool:
    return address_in(address, trusted_networks(common_settings.TRUSTED_PROXIES))


def client_ip(request: HttpRequest) -> str:
    """The peer, or what trusted proxies (COMMON["TRUSTED_PROXIES"]) say the client was,
    read as the gateway reads it (common.limits.client_address)."""
    return forwarded_client(request.META, _is_trusted)


def identity(value: str) -> str:
    """A fixed-length, case-folded name for a username in a counter key."""
    return hashlib.sha256(value.casefold().encode()).hexdigest()[:32]


def _counters() -> list[RedisWindowCounter | DatabaseWindowCounter | LocalWindowCounter]:
    shared = window_counter()
    redis = [shared] if isinstance(shared, RedisWindowCounter) else []
    return [*redis, _database, _memory]


def _hit(key: str, window_ms: int) -> tuple[int, int]:
    """On the first counter that answers: Redis, else the database, else memory."""
    *shared, last = _counters()
    for counter in shared:
        try:
            return counter.hit(key, window_ms)
        except CounterUnavailable as error:
            now = time.monotonic()
            if now - _last_fallback_log[0] >= 60:
                _last_fallback_log[0] = now
                logger.error("login limits: %s unavailable: %s", type(counter).__name__, error)
    return last.hit(key, window_ms)


def limits_hit(limits: Iterable[Limit]) -> float | None:
    """Count one attempt on every limit; the seconds to wait when one is exceeded, else None."""
    wait = None
    for limit in limits:
        allowed, seconds = parse_rate(limit.rate)
        count, ttl_ms = _hit(KEY_PREFIX + limit.key, seconds * 1000)
        if count > allowed:
            wait = max(wait or 0.0, max(1.0, ttl_ms / 1000))
    return wait


def limits_check(limits: Iterable[Limit]) -> None:
    """limits_hit, raising LoginThrottled (429 with Retry-After) when one is exceeded."""
    wait = limits_hit(limits)
    if wait is not None:
        raise LoginThrottled(wait=wait)


@on_test_reset
def _forget_counts() -> None:
    """The login counters in Redis and memory (a test's database rows go with its
    transaction)."""
    for counter in _counters():
        if not isinstance(counter, DatabaseWindowCounter):
            counter.reset(KEY_PREFIX)
