"""The gateway's shared Redis for discovery and breakers: the cache's connection pool, keys
under the cache's prefix, and a short back-off after a failure (as the rate limiter does),
so a Redis that has gone away costs each request nothing instead of a socket timeout."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import caches

logger = logging.getLogger(__name__)


class RedisStore:
    def __init__(self, cache: Any, retry_seconds: float) -> None:
        from redis.exceptions import RedisError

        self.cache = cache
        self.errors = (RedisError, OSError)
        self.retry_seconds = retry_seconds
        self._down_until = 0.0
        self._scripts: dict[str, Any] = {}
        self._logged_at = float("-inf")

    @property
    def client(self) -> Any:
        return self.cache.client.get_client(write=True)

    def key(self, name: str) -> str:
        return self.cache.make_key(name)

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, error: Exception) -> None:
        self._down_until = time.monotonic() + self.retry_seconds
        now = time.monotonic()
        if now - self._logged_at >= 60:
            self._logged_at = now
            logger.error(
                "Redis failed; discovery and breakers use process memory meanwhile: %s", error
            )

    def script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client.register_script(source)
        return script(keys=[self.key(k) for k in keys], args=args)

    def call(self, command: str, key: str, *args: Any) -> Any:
        return getattr(self.client, command)(self.key(key), *args)

    def delete_matching(self, pattern: str) -> None:
        client = self.client
        keys = list(client.scan_iter(match=self.key(pattern)))
        if keys:
            client.delete(*keys)


def redis_store(retry_seconds: float) -> RedisStore | None:
    """The store on the default cache when that cache is django-redis, else None."""
    default = caches["default"]
    if hasattr(default, "client") and hasattr(default.client, "get_client"):
        return RedisStore(default, retry_seconds)
    return None
