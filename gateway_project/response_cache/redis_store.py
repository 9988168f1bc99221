"""The response cache in Redis: every worker and replica shares entries and purges.

Reached as the throttle reaches it (the django-redis client's pool, names through
`cache.make_key`); each operation is one Lua script, so a lookup is one round trip and
the race guard's check-and-store is atomic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from gateway_project.proxy.redis_scripts import ThreadScript
from gateway_project.response_cache.config import knob
from gateway_project.response_cache.policy import variant_key
from gateway_project.response_cache.store import Found, StoreUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")

# KEYS: vary names, purge sequence. ARGV: entry key prefix, then request header
# (lower-case name, value) pairs. The variant is hashed as policy.variant_key does.
LOOKUP_SCRIPT = """
local seq = redis.call('GET', KEYS[2]) or '0'
local names = redis.call('GET', KEYS[1])
if not names then return {seq, false} end
local sent = {}
for i = 2, #ARGV, 2 do sent[ARGV[i]] = ARGV[i + 1] end
local parts = {names}
for name in string.gmatch(names, '[^,]+') do parts[#parts + 1] = sent[name] or '' end
return {seq, redis.call('GET', ARGV[1] .. ':' .. redis.sha1hex(table.concat(parts, '\\n')))}
"""

# KEYS: vary names, entry, purge sequence, n tag sets, n tag purge marks.
# ARGV: ttl, entry, vary names, sequence seen at lookup, n.
PUT_SCRIPT = """
local seen = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
if tonumber(redis.call('GET', KEYS[3]) or '0') < seen then return 0 end
for i = 1, n do
  local purged = redis.call('GET', KEYS[3 + n + i])
  if purged and tonumber(purged) > seen then return 0 end
end
local ttl = tonumber(ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ttl)
if redis.call('GET', KEYS[1]) ~= ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ttl)
elseif redis.call('TTL', KEYS[1]) < ttl then
  redis.call('EXPIRE', KEYS[1], ttl)
end
for i = 1, n do
  redis.call('SADD', KEYS[3 + i], KEYS[2])
  if redis.call('TTL', KEYS[3 + i]) < ttl then redis.call('EXPIRE', KEYS[3 + i], ttl) end
end
return 1
"""

# KEYS: purge sequence, n tag sets, n tag purge marks. ARGV: n, seconds to remember.
# The sequence lives a day past the last purge; should it vanish (expiry, a Redis
# restart), `put` refuses every answer looked up before, since it is below what they saw.
PURGE_SCRIPT = """
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 86400)
local n = tonumber(ARGV[1])
local removed = 0
for i = 1, n do
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[1 + i])) do
    removed = removed + redis.call('DEL', key)
  end
  redis.call('DEL', KEYS[1 + i])
  redis.call('SET', KEYS[1 + n + i], seq, 'EX', ARGV[2])
end
return removed
"""


class RedisStore:
    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self._scripts: dict[str, Any] = {}
        self._down_until = 0.0
        self._last_log = float("-inf")

    def _key(self, name: str) -> str:
        return self.cache.make_key(f"rc:{name}")

    def _run(self, name: str, source: str, keys: list[str], args: list[Any]) -> Any:
        return self._guarded(lambda: self._script(name, source)(keys=keys, args=args))

    def _script(self, name: str, source: str) -> Any:
        script = self._scripts.get(name)
        if script is None:
            client = self.cache.client.get_client(write=True)
            script = self._scripts[name] = ThreadScript(client, source)
        return script

    def _guarded(self, call: Callable[[], T]) -> T:
        from redis.exceptions import RedisError

        if time.monotonic() < self._down_until:
            raise StoreUnavailable("Redis failed a moment ago")
        try:
            return call()
        except (RedisError, OSError) as error:
            self._down_until = time.monotonic() + knob("BACKEND_RETRY_SECONDS")
            now = time.monotonic()
            if now - self._last_log >= knob("FAILURE_LOG_INTERVAL"):
                self._last_log = now
                logger.error(
                    "response cache bypassed, Redis failed: %s: %s", type(error).__name__, error
                )
            raise StoreUnavailable(f"{type(error).__name__}: {error}") from error

    def lookup(self, base: str, headers: Mapping[str, str]) -> Found:
        args: list[str] = [self._key(f"e:{base}")]
        for name, value in headers.items():
            args += [name, value]
        seq, raw = self._run(
            "lookup", LOOKUP_SCRIPT, [self._key(f"vary:{base}"), self._key("seq")], args
        )
        return Found(raw, int(seq))

    def put(
        self,
        base: str,
        names: Sequence[str],
        headers: Mapping[str, str],
        raw: bytes,
        *,
        ttl: int,
        tags: Sequence[str],
        seen: int,
    ) -> bool:
        entry = f"{self._key(f'e:{base}')}:{variant_key(names, headers)}"
        keys = [self._key(f"vary:{base}"), entry, self._key("seq")]
        keys += [self._key(f"tag:{tag}") for tag in tags]
        keys += [self._key(f"purged:{tag}") for tag in tags]
        args = [ttl, raw, ",".join(names), seen, len(tags)]
        return bool(self._run("put", PUT_SCRIPT, keys, args))

    def purge(self, tags: Sequence[str]) -> int:
        keys = [self._key("seq")]
        keys += [self._key(f"tag:{tag}") for tag in tags]
        keys += [self._key(f"purged:{tag}") for tag in tags]
        args = [len(tags), knob("PURGE_MEMORY_SECONDS")]
        return int(self._run("purge", PURGE_SCRIPT, keys, args))

    def reset(self) -> None:
        client = self.cache.client.get_client(write=True)
        keys = list(client.scan_iter(match=self._key("*")))
        if keys:
            client.delete(*keys)
        self._down_until = 0.0
