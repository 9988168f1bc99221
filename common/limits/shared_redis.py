"""The project's shared Redis, reached through the django-redis cache: its connection pool,
keys under the cache's prefix, Lua scripts registered once, and a short back-off after a
failure, so a Redis that has gone away costs each request nothing instead of a socket
timeout. The rate-limit counters, the gateway's discovery and breakers and its response
cache all reach Redis through it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


def is_redis_cache(cache: Any) -> bool:
    """Whether a Django cache is django-redis (so a raw client can be had from it)."""
    return hasattr(cache, "client") and hasattr(cache.client, "get_client")


class SharedRedis:
    """Redis behind `cache`, skipped for `retry_seconds` after each failure.

    With `failure_log`, a failure is logged (`failure_log: <error>`) at most once per
    `log_interval` seconds, so an outage does not flood the log.
    """

    def __init__(
        self,
        cache: Any,
        *,
        retry_seconds: float = 1.0,
        failure_log: str | None = None,
        log_interval: float = 60.0,
    ) -> None:
        from redis.exceptions import RedisError

        self.cache = cache
        self.errors: tuple[type[Exception], ...] = (RedisError, OSError)
        self.retry_seconds = retry_seconds
        self.failure_log = failure_log
        self.log_interval = log_interval
        self._down_until = 0.0
        self._logged_at = float("-inf")
        self._scripts: dict[str, Any] = {}

    @property
    def client(self) -> Any:
        return self.cache.client.get_client(write=True)

    def key(self, name: str) -> str:
        key: str = self.cache.make_key(name)
        return key

    def available(self) -> bool:
        """False for a moment after a failure: callers fall back without trying Redis."""
        return time.monotonic() >= self._down_until

    def failed(self, error: Exception) -> None:
        now = time.monotonic()
        self._down_until = now + self.retry_seconds
        if self.failure_log is not None and now - self._logged_at >= self.log_interval:
            self._logged_at = now
            logger.error("%s: %s: %s", self.failure_log, type(error).__name__, error)

    def recovered(self) -> None:
        """Tests: end the back-off at once."""
        self._down_until = 0.0

    def guarded(self, call: Callable[[], T], unavailable: type[Exception]) -> T:
        """`call()`, or `unavailable` raised when Redis failed now or a moment ago."""
        if not self.available():
            raise unavailable("Redis failed a moment ago")
        try:
            return call()
        except self.errors as error:
            self.failed(error)
            raise unavailable(f"{type(error).__name__}: {error}") from error

    def registered(self, source: str) -> Any:
        """A Lua script, registered on first use: called, it runs by EVALSHA."""
        script = self._scripts.get(source)
        if script is None:
            from common.limits.redis_scripts import ThreadScript  # redis is imported only when used

            script = self._scripts[source] = ThreadScript(self.client, source)
        return script

    def script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script; `keys` are names under the cache's prefix."""
        return self.registered(source)(keys=[self.key(k) for k in keys], args=args)

    def call(self, command: str, key: str, *args: Any) -> Any:
        return getattr(self.client, command)(self.key(key), *args)

    def delete_matching(self, pattern: str) -> None:
        """Delete the keys under the cache's prefix that match `pattern`."""
        self.delete_names_matching(self.key(pattern))

    def delete_names_matching(self, pattern: str) -> None:
        """Delete the keys that match `pattern` as given: names outside the cache's prefix
        (a namespace shared by the projects)."""
        client = self.client
        keys = list(client.scan_iter(match=pattern))
        if keys:
            client.delete(*keys)
