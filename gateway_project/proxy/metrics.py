"""The gateway's own Prometheus metrics, beside django-prometheus's (multiprocess-safe)."""

from __future__ import annotations

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


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    count, latency = _request_series(route, method, status)
    count.inc()
    latency.observe(seconds)


def observe_upstream(service: str, method: str, status: str, seconds: float) -> None:
    count, latency = _upstream_series(service, method, status)
    count.inc()
    latency.observe(seconds)
