"""A retry budget per service: retries may add at most `ratio` of the requests of the last
ten seconds (plus a small floor, so a quiet service can still retry), so that in an
outage retries cannot multiply the load on what is left (Envoy's retry budgets)."""

from __future__ import annotations

import threading
import time

from common.upstreams import metrics

WINDOW_SECONDS = 10.0


class RetryBudget:
    def __init__(self, ratio: float, *, minimum: int) -> None:
        self.ratio = ratio
        self.minimum = minimum
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        # (requests, retries) in the current and the previous window
        self._current = [0, 0]
        self._previous = [0, 0]

    def _roll(self, now: float) -> None:
        elapsed = now - self._window_start
        if elapsed >= WINDOW_SECONDS:
            self._previous = self._current if elapsed < 2 * WINDOW_SECONDS else [0, 0]
            self._current = [0, 0]
            self._window_start = now

    def request(self) -> None:
        with self._lock:
            self._roll(time.monotonic())
            self._current[0] += 1

    def try_spend(self) -> bool:
        """True (and counted) when one more retry fits in the budget."""
        with self._lock:
            self._roll(time.monotonic())
            requests = self._current[0] + self._previous[0]
            retries = self._current[1] + self._previous[1]
            if retries >= self.minimum + self.ratio * requests:
                return False
            self._current[1] += 1
            return True


# Methods that may be sent twice (RFC 9110 §9.2.2); anything else only when nothing was
# sent, or when the call carries its own idempotency key.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# What counts against an instance (breaker and outlier detection) besides a failed
# exchange: answers saying the service cannot serve. A 500 is a bug, not an outage.
FAILURE_STATUSES = frozenset({502, 503, 504})
# After these answers a request that may be sent twice is retried on another instance.
RETRY_STATUSES = frozenset({502, 503})
MAX_ATTEMPTS = 2  # the first try and one retry


def another_attempt(
    service: str, instances: int, tried: set[str], budget: RetryBudget, reason: str
) -> bool:
    """Whether a request that may be sent again gets its one retry on another instance:
    only one, only while an untried instance exists, and only within the budget (counted
    either way)."""
    if len(tried) >= MAX_ATTEMPTS or instances <= len(tried):
        return False
    if budget.try_spend():
        metrics.RETRIES.labels(service, reason).inc()
        return True
    metrics.RETRY_BUDGET_EXHAUSTED.labels(service).inc()
    return False
