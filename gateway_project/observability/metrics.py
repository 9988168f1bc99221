"""The gateway's own Prometheus metrics, beside django-prometheus's (multiprocess-safe).

The proxy does not write them per request: `observability.record` keeps each request's
record and adds a second's worth of them here at once (`add_requests`, `add_attempts`),
so the series lag what happened by at most a flush (docs/architecture.md, "One record per
request").

A histogram takes many observations at once through two internals of prometheus_client's
`Histogram` child (0.26), the only ones this module touches: `_buckets`, one value per
upper bound (`+Inf` last) counting the observations that fell in that bucket alone
(`observe` adds 1 to the first bound >= the amount; `_child_samples` makes them
cumulative), and `_sum`, the value `observe` adds the amount to.
`gateway_project/tests/test_metrics_internals.py` is their canary: it fails when a
release changes either.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from functools import lru_cache

from prometheus_client import Counter, Histogram

# Seconds: from a fast proxy hop (1 ms) past the upstream read timeout (5 s by default).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "gateway_requests_total",
    "Requests to proxy routes, by route, method and the status the client got "
    "(django-prometheus's request metrics cover the gateway's other paths).",
    ["route", "method", "status"],
)
REQUEST_LATENCY = Histogram(
    "gateway_request_latency_seconds",
    "Time the gateway spent on a proxy-route request, upstream call included.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_REQUESTS = Counter(
    "gateway_upstream_requests_total",
    "Requests the gateway forwarded, by service, method and upstream status (or failure).",
    ["service", "method", "status"],
)
UPSTREAM_LATENCY = Histogram(
    "gateway_upstream_latency_seconds",
    "Time from sending a request to a service to having its whole answer.",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
THROTTLED_REQUESTS = Counter(
    "gateway_throttled_requests_total",
    "Requests answered 429 by the gateway, by throttle scope.",
    ["scope"],
)
THROTTLE_BACKEND_FAILURES = Counter(
    "gateway_throttle_backend_failures_total",
    "Requests whose rate limit could not be counted (Redis unreachable), by scope and "
    "outcome: fail_open (proxied uncounted) or fail_closed (answered 503).",
    ["scope", "outcome"],
)


# `.labels(...)` validates and looks its child up under a lock on every call (twice per
# series per request; its cost: docs/performance.md, "The final code"): each label
# combination's children are kept here.
@lru_cache(maxsize=4096)
def _request_series(route: str, method: str, status: int) -> tuple[Counter, Histogram]:
    return REQUESTS.labels(route, method, str(status)), REQUEST_LATENCY.labels(route)


@lru_cache(maxsize=4096)
def _upstream_series(service: str, method: str, status: str) -> tuple[Counter, Histogram]:
    return UPSTREAM_REQUESTS.labels(service, method, status), UPSTREAM_LATENCY.labels(service)


@lru_cache(maxsize=256)
def _throttled_series(scope: str) -> Counter:
    return THROTTLED_REQUESTS.labels(scope)


def latency_slot(seconds: float) -> int:
    """The histogram bucket an observation of `seconds` falls in: the first bound it does
    not exceed, len(LATENCY_BUCKETS) past the last (`+Inf`), as `Histogram.observe` picks."""
    return bisect_left(LATENCY_BUCKETS, seconds)


def histogram_add(histogram: Histogram, slot: int, count: int, seconds: float) -> None:
    """`count` observations in bucket `slot`, `seconds` their sum: what as many calls of
    `histogram.observe` would leave (the internals: this module's docstring)."""
    histogram._sum.inc(seconds)
    histogram._buckets[slot].inc(count)


# One second of records, as `observability.record` hands them over: a key, then
# [how many, their seconds added up].
RequestKey = tuple[int, str, str, str, int, int, str | None, int | None]
AttemptKey = tuple[str, str, str, int]
Tally = list[float]


def add_requests(batch: Mapping[RequestKey, Tally]) -> None:
    """Proxied requests: `(bucket, route, service, method, status, slot, throttled_by,
    consumer)` -> [n, seconds]."""
    for (_, route, _, method, status, slot, throttled_by, _), (n, seconds) in batch.items():
        count, latency = _request_series(route, method, status)
        count.inc(n)
        histogram_add(latency, slot, int(n), seconds)
        if throttled_by is not None:
            _throttled_series(throttled_by).inc(n)


def add_attempts(batch: Mapping[AttemptKey, Tally]) -> None:
    """Calls to services (an attempt each, retries included; or the reason none was made):
    `(service, method, outcome, slot)` -> [n, seconds]."""
    for (service, method, outcome, slot), (n, seconds) in batch.items():
        count, latency = _upstream_series(service, method, outcome)
        count.inc(n)
        histogram_add(latency, slot, int(n), seconds)
