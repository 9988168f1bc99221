"""The response cache's Prometheus series (multiprocess-safe, as the proxy's)."""

from __future__ import annotations

from prometheus_client import Counter

CACHE_REQUESTS = Counter(
    "gateway_cache_requests_total",
    "Requests on cacheable routes, by route and result: HIT (answered from the cache), "
    "MISS (forwarded, stored when cacheable) or BYPASS (not served from the cache: unsafe "
    "method, client no-cache/no-store, uncacheable answer, or the cache unavailable).",
    ["route", "result"],
)
CACHE_INVALIDATIONS = Counter(
    "gateway_cache_invalidations_total",
    "Invalidations done, by source: write (a successful unsafe request through the "
    "gateway) or purge (a service named surrogate keys at /internal/cache/purge).",
    ["source"],
)
