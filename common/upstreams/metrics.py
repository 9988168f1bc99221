"""Prometheus metrics of discovery, balancing, breakers and retries (multiprocess-safe)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

INSTANCES = Gauge(
    "gateway_upstream_instances",
    "Instances of each service by state (healthy, ejected, breaker_open), as the gateway "
    "worker that saw them last counted.",
    ["service", "state"],
    multiprocess_mode="max",
)
BREAKER_TRANSITIONS = Counter(
    "gateway_breaker_transitions_total",
    "Circuit-breaker state changes, by service and the state entered (open, half_open, "
    "closed); counted once, by the worker that caused the change.",
    ["service", "to_state"],
)
EJECTIONS = Counter(
    "gateway_outlier_ejections_total",
    "Instances taken out of balancing after consecutive failures or a failed /ready.",
    ["service"],
)
PANIC_ROUTING = Counter(
    "gateway_panic_routing_total",
    "Requests sent to an unhealthy instance because every instance of the service was.",
    ["service"],
)
RETRIES = Counter(
    "gateway_retries_total",
    "Requests sent again on another instance, by reason (connect, timeout, status).",
    ["service", "reason"],
)
RETRY_BUDGET_EXHAUSTED = Counter(
    "gateway_retry_budget_exhausted_total",
    "Retries refused because the service's retry budget was spent.",
    ["service"],
)
BULKHEAD_REJECTIONS = Counter(
    "gateway_bulkhead_rejections_total",
    "Requests answered 503 at once because every slot of the service's bulkhead in the "
    "worker was taken.",
    ["service"],
)
BULKHEAD_IN_FLIGHT = Gauge(
    "gateway_bulkhead_in_flight",
    "Requests holding a slot of the service's bulkhead, summed over the live workers "
    "(each worker's limit: gateway_bulkhead_limit).",
    ["service"],
    multiprocess_mode="livesum",
)
BULKHEAD_LIMIT = Gauge(
    "gateway_bulkhead_limit",
    "Slots of the service's bulkhead in each gateway worker.",
    ["service"],
    multiprocess_mode="max",
)
