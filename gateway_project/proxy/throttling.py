"""Rate limits counted atomically on common.limits.counters' fixed windows, per (scope, client).

This keeps DRF's throttle API (allow_request/wait) and replaces only the counting, which
lives in common.limits.counters (the login limits of every project count there too).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import cache

from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from common.limits.counters import CounterUnavailable, LocalWindowCounter, RedisWindowCounter
from common.limits.state import pick_store
from common.settings.namespaces import on_settings_change, on_test_reset
from gateway_project.conf import gateway_settings
from gateway_project.proxy import metrics
from gateway_project.transport.forwarding import client_ip_for, rate_limit_bucket

logger = logging.getLogger(__name__)


class ThrottleBackendUnavailable(APIException):
    status_code = 503
    default_detail = "Rate limiting is unavailable, so this request cannot be accepted now."
    default_code = "rate_limit_unavailable"
    problem_type = "rate-limit-unavailable"
    wait = 5


@cache
def window_counter() -> LocalWindowCounter | RedisWindowCounter:
    retry = gateway_settings.THROTTLE_BACKEND_RETRY_SECONDS
    return pick_store(
        LocalWindowCounter, lambda cache: RedisWindowCounter(cache, retry_seconds=retry)
    )


on_settings_change("CACHES", "GATEWAY")(window_counter.cache_clear)


@on_test_reset
def _forget_windows() -> None:
    window_counter().reset()
    _last_failure_log.clear()


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
    interval = gateway_settings.THROTTLE_FAILURE_LOG_INTERVAL
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
        limit, window = gateway_settings.RATES[scope]
        try:
            count, ttl_ms = window_counter().hit(f"throttle:{scope}:{identity}", window * 1000)
        except CounterUnavailable as error:
            if scope in gateway_settings.FAIL_CLOSED_SCOPES:
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
