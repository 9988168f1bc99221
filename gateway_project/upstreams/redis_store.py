"""The gateway's shared Redis for discovery and breakers (common.limits.shared_redis): the cache's
connection pool, keys under the cache's prefix, and a short back-off after a failure (as
the rate limiter has), so a Redis that has gone away costs each request nothing."""

from __future__ import annotations

from django.core.cache import caches

from common.limits.shared_redis import SharedRedis, is_redis_cache


def redis_store(retry_seconds: float) -> SharedRedis | None:
    """The store on the default cache when that cache is django-redis, else None."""
    default = caches["default"]
    if not is_redis_cache(default):
        return None
    return SharedRedis(
        default,
        retry_seconds=retry_seconds,
        failure_log="Redis failed; discovery and breakers use process memory meanwhile",
    )
