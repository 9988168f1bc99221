"""The gateway's shared Redis for discovery and breakers (common.limits.shared_redis): the cache's
connection pool, keys under the cache's prefix, and a short back-off after a failure (as
the rate limiter has), so a Redis that has gone away costs each request nothing."""

from __future__ import annotations

from typing import Any

from common.limits.shared_redis import SharedRedis
from common.limits.state import pick_store


def redis_store(retry_seconds: float) -> SharedRedis | None:
    """The store on the default cache when that cache is django-redis, else None."""

    def redis(cache: Any) -> SharedRedis:
        return SharedRedis(
            cache,
            retry_seconds=retry_seconds,
            failure_log="Redis failed; discovery and breakers use process memory meanwhile",
        )

    return pick_store(lambda: None, redis)
