"""The response cache's tuning knobs: settings, not environment variables.

`settings.GATEWAY_RESPONSE_CACHE` may override any of them (tests do); the per-route
lifetime is the route table's `cache` key (GATEWAY_CACHE_SECONDS for the product routes).
Read as one typed object, like COMMON and GATEWAY (common.settings.namespaces).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from common.limits.response_cache_keys import PURGE_MARK_SECONDS
from common.settings.namespaces import Namespace, SettingsObject, number, setting


@dataclasses.dataclass(frozen=True)
class ResponseCacheSettings(Namespace):
    """settings.GATEWAY_RESPONSE_CACHE."""

    NAME: ClassVar[str] = "GATEWAY_RESPONSE_CACHE"

    # Process-memory store (no Redis): at most this many answers, least recently used out.
    MAX_ENTRIES: int = setting(5000, number(int, minimum=1))
    # Larger bodies are never stored (in either store): they would crowd out the rest.
    MAX_BODY_BYTES: int = setting(1_048_576, number(int))
    # After a Redis failure, skip Redis for this long: a silent Redis costs one socket
    # timeout per second per worker, not one per request (as the throttle does).
    BACKEND_RETRY_SECONDS: float = setting(1.0, number(float))
    FAILURE_LOG_INTERVAL: float = setting(60.0, number(float))
    # How long a purge is remembered for the race guard: longer than any upstream
    # exchange can take (the read timeouts are seconds). The product service's own
    # purges in Redis keep the same default (common.limits.response_cache_keys).
    PURGE_MEMORY_SECONDS: int = setting(PURGE_MARK_SECONDS, number(int, minimum=1))  # seconds


response_cache_settings: ResponseCacheSettings = SettingsObject(ResponseCacheSettings)  # type: ignore[assignment]


def knob(name: str) -> Any:
    return getattr(response_cache_settings, name)
