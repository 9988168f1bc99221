"""Access-token revocation at the edge: a per-user "not before", shared through Redis.

Access tokens are verified offline, so a logout or a password change would leave them
valid until they expire. The user service records the moment (in ms) of such an event
under an explicit shared key namespace (COMMON["SHARED_CACHE_PREFIX"]: the projects'
cache KEY_PREFIXes differ), and every verifier refuses tokens issued before it. The
entry lives as long as an access token can (after that, every older token is expired).

Without Redis the record is in this process's memory: it then protects only the process
that wrote it (the user service's own endpoints), not the gateway. With Redis down,
revocation fails open (logged): tokens are still refused at the user service by their
credential version, and expire on their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol

from django.conf import settings

from common.limits.state import pick_store
from common.settings.namespaces import common_settings, on_settings_change, on_test_reset

logger = logging.getLogger(__name__)

ISSUED_MS_CLAIM = "iat_ms"  # when the token was issued, in ms (iat has seconds only)
_down_until = [0.0]
# Verifiers remember an answer this long: revocation is effective within it.
LOOKUP_CACHE_SECONDS = 1.0
_looked_up: dict[str, tuple[float, int]] = {}

# KEYS[1] the user's record. ARGV: at_ms, seconds to keep. The record only moves forward
# (a user service replica whose clock is behind cannot lower it) and lives on from now.
REVOKE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return tonumber(ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return current
"""


class RevocationStore(Protocol):
    """Per-user "not before" records: Redis (RedisRevocations) or memory (MemoryRevocations)."""

    def revoke_before(self, key: str, at_ms: int, ttl_seconds: int) -> int:
        """Raise the record to `at_ms` (never lower it), kept `ttl_seconds` from now; the
        record's value."""
        ...

    def revoked_before(self, key: str) -> int:
        """The record, 0 when none (or expired)."""
        ...


def _wall_ms() -> int:
    return int(time.time() * 1000)


class MemoryRevocations:
    """This process's records (no Redis), expiring as Redis' do. `clock` (ms) is for tests."""

    def __init__(self, clock: Callable[[], int] = _wall_ms) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[int, int]] = {}  # key -> (at_ms, expires_ms)
        self._clock = clock

    def _value(self, key: str, now: int) -> int:
        record = self._records.get(key)
        return record[0] if record is not None and record[1] > now else 0

    def revoke_before(self, key: str, at_ms: int, ttl_seconds: int) -> int:
        now = self._clock()
        with self._lock:
            value = max(at_ms, self._value(key, now))
            self._records[key] = (value, now + ttl_seconds * 1000)
            if len(self._records) > 100_000:
                self._records = {k: r for k, r in self._records.items() if r[1] > now}
            return value

    def revoked_before(self, key: str) -> int:
        return self._value(key, self._clock())

    def reset(self) -> None:
        with self._lock:
            self._records.clear()


class RedisRevocations:
    """The records in Redis, under the shared prefix (not the cache's KEY_PREFIX)."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self._revoke: Any = None

    @property
    def client(self) -> Any:
        return self.cache.client.get_client(write=True)

    def revoke_before(self, key: str, at_ms: int, ttl_seconds: int) -> int:
        if self._revoke is None:
            from common.limits.redis_scripts import ThreadScript

            self._revoke = ThreadScript(self.client, REVOKE_SCRIPT)
        return int(self._revoke(keys=[key], args=[at_ms, ttl_seconds]))

    def revoked_before(self, key: str) -> int:
        raw = self.client.get(key)
        return int(raw) if raw else 0


_memory = MemoryRevocations()


@cache
def revocation_store() -> MemoryRevocations | RedisRevocations:
    """Redis when the default cache is django-redis, else this process's records."""
    return pick_store(lambda: _memory, RedisRevocations)


on_settings_change("CACHES")(revocation_store.cache_clear)


def _key(user_id: Any) -> str:
    return f"{common_settings.SHARED_CACHE_PREFIX}:revoked-before:{user_id}"


def _ttl_seconds() -> int:
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    return int(lifetime + settings.SIMPLE_JWT.get("LEEWAY", 0)) + 1


def tokens_revoke_before(user_id: Any, *, at_ms: int | None = None) -> bool:
    """Refuse every access token of the user issued before now; False if not recorded."""
    at_ms = at_ms if at_ms is not None else int(time.time() * 1000)
    key = _key(user_id)
    store = revocation_store()
    if store is _memory:
        _memory.revoke_before(key, at_ms, _ttl_seconds())
        return True
    try:
        value = store.revoke_before(key, at_ms, _ttl_seconds())
    except Exception as error:  # redis' errors, or OSError from the socket
        logger.error("token revocation for user %s not recorded: %s", user_id, error)
        return False
    # This process knows at once; the others within LOOKUP_CACHE_SECONDS.
    _looked_up[key] = (time.monotonic() + LOOKUP_CACHE_SECONDS, value)
    return True


def _revoked_before(key: str) -> int:
    store = revocation_store()
    if store is _memory:
        return _memory.revoked_before(key)
    now = time.monotonic()
    cached = _looked_up.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    if now < _down_until[0]:
        return 0
    try:
        value = store.revoked_before(key)
    except Exception as error:  # fail open: see the module docstring
        _down_until[0] = now + 1.0
        logger.warning("token revocation lookup failed: %s", error)
        return 0
    if len(_looked_up) > 10_000:
        _looked_up.clear()
    _looked_up[key] = (now + LOOKUP_CACHE_SECONDS, value)
    return value


def token_is_revoked(payload: dict[str, Any]) -> bool:
    """Whether the token was issued before its user's last logout or password change."""
    user_id = payload.get("user_id")
    if user_id is None:
        return False
    issued = payload.get(ISSUED_MS_CLAIM)
    if not isinstance(issued, int):
        iat = payload.get("iat")
        issued = int(iat) * 1000 if isinstance(iat, int | float) else 0
    return issued < _revoked_before(_key(user_id))


@on_test_reset
def _forget() -> None:
    """Remembered answers, the back-off and this process's records."""
    _looked_up.clear()
    _down_until[0] = 0.0
    _memory.reset()
