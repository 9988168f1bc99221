"""The response cache's tuning knobs: settings, not environment variables.

`settings.GATEWAY_RESPONSE_CACHE` may override any of them (tests do); the per-route
lifetime is the route table's `cache` key (GATEWAY_CACHE_SECONDS for the product routes).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Process-memory store (no Redis): at most this many answers, least recently used out.
    "MAX_ENTRIES": 5000,
    # Larger bodies are never stored (in either store): they would crowd out the rest.
    "MAX_BODY_BYTES": 1_048_576,
    # After a Redis failure, skip Redis for this long: a silent Redis costs one socket
    # timeout per second per worker, not one per request (as the throttle does).
    "BACKEND_RETRY_SECONDS": 1.0,
    "FAILURE_LOG_INTERVAL": 60.0,
    # How long a purge is remembered for the race guard: longer than any upstream
    # exchange can take (the read timeouts are seconds).
    "PURGE_MEMORY_SECONDS": 300,
}


def knob(name: str) -> Any:
    return getattr(settings, "GATEWAY_RESPONSE_CACHE", {}).get(name, DEFAULTS[name])
