"""Rate limits counted atomically on common.limits.counters' fixed windows, per (scope, client).

This keeps DRF's throttle API (allow_request/wait) and replaces only the counting, which
lives in common.limits.counters (the login limits of every project count there too).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import cast

from django.utils import timezone
from rest_framework.exceptions import APIException, Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from common.http.middleware import access_log
from common.limits.counters import CounterUnavailable, LocalWindowCounter, RedisWindowCounter
from common.limits.state import pick_store
from common.settings.namespaces import on_settings_change, on_test_reset, parse_rate
from gateway_project.conf import gateway_settings
from gateway_project.consumers.keys import KeyHolder
from gateway_project.observability import metrics
from gateway_project.proxy.quotas import period_left_ms, quota_key
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
    callers, the consumer for an API key, else the user id."""
    if route_scope == "default":
        user = request.user
        if isinstance(user, KeyHolder):
            return "consumer", str(user.consumer_id)
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
        limit, window = self.rate_of(request, scope)
        key = f"throttle:{scope}:{identity}"
        return self.count(request, scope, key, limit, window, window * 1000)

    def rate_of(self, request: Request, scope: str) -> tuple[int, int]:
        """(limit, window seconds): the scope's rate, or the consumer's own."""
        if scope == "consumer":  # the scope of a key's holder
            rate = cast(KeyHolder, request.user).rate
            if rate:
                return parse_rate(rate)
        return gateway_settings.RATES[scope]

    def count(
        self, request: Request, scope: str, key: str, limit: int, window: int, window_ms: int
    ) -> bool:
        """One more request in the window `key` (atomic across workers and replicas);
        whether it is within `limit`. The state it leaves names the policy."""
        try:
            count, ttl_ms = window_counter().hit(key, window_ms)
        except CounterUnavailable as error:
            if scope in gateway_settings.FAIL_CLOSED_SCOPES:
                metrics.THROTTLE_BACKEND_FAILURES.labels(scope, "fail_closed").inc()
                _log_backend_failure(scope, "fail_closed", error)
                raise ThrottleBackendUnavailable() from error
            metrics.THROTTLE_BACKEND_FAILURES.labels(scope, "fail_open").inc()
            _log_backend_failure(scope, "fail_open", error)
            access_log(request._request)["throttle"] = "unavailable"
            return True
        self.state = RateLimitState(
            scope=scope,
            limit=limit,
            window=window,
            remaining=max(0, limit - count),
            reset=max(1, math.ceil(ttl_ms / 1000)),
        )
        # The headers name the policy closest to its limit (a consumer has two).
        shown = getattr(request._request, "rate_limit", None)
        if shown is None or self.state.remaining < shown.remaining or count > limit:
            request._request.rate_limit = self.state  # type: ignore[attr-defined]  # for the view
        if count > limit:
            request._request.throttled_by = scope  # type: ignore[attr-defined]
        return count <= limit

    def wait(self) -> float | None:
        return self.state.reset if self.state else None


class QuotaExceeded(Throttled):
    default_code = "quota_exceeded"
    problem_type = "quota-exceeded"

    def __init__(self, holder: KeyHolder, state: RateLimitState) -> None:
        resets = timezone.now() + timedelta(seconds=state.reset)
        super().__init__(
            wait=state.reset,
            detail=(
                f"The consumer {holder.consumer_name!r} has used its quota of {state.limit} "
                f"requests per {holder.quota_period}; it resets at {resets:%Y-%m-%dT%H:%M:%SZ}."
            ),
        )
        self.problem_extra = {
            "limit": "quota",
            "quota": state.limit,
            "resets_at": f"{resets:%Y-%m-%dT%H:%M:%SZ}",
        }


class ConsumerQuotaThrottle(GatewayRateThrottle):
    """A consumer's requests per UTC day or month, exact across workers and replicas (the
    same atomic windows, one per period, ending when the period does)."""

    def __init__(self) -> None:
        super().__init__("quota")

    def allow_request(self, request: Request, view: object) -> bool:
        holder = request.user
        if not isinstance(holder, KeyHolder) or holder.quota is None:
            return True
        if getattr(request._request, "throttled_by", None):
            return True  # refused by the rate limit already: not a request of the quota
        period, left_ms = period_left_ms(holder.quota_period, timezone.now())
        key = quota_key(holder.consumer_id, period)
        window = math.ceil(left_ms / 1000)
        if self.count(request, "quota", key, holder.quota, window, left_ms):
            return True
        raise QuotaExceeded(holder, self.state)
