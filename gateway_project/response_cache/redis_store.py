"""The response cache in Redis: every worker and replica shares entries and purges.

Reached through common.limits.shared_redis, as the throttle reaches it (the django-redis client's
pool, a back-off after a failure); each operation is one Lua script, so a lookup is one
round trip and the race guard's check-and-store is atomic. The keys are named by
common.limits.response_cache_keys, under the namespace the projects share, not the cache's
KEY_PREFIX: the product service purges them there itself, with the same PURGE_SCRIPT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from common.limits.response_cache_keys import (
    ResponseCacheKeys,
    response_cache_purge,
    shared_namespace,
)
from common.limits.shared_redis import SharedRedis
from gateway_project.response_cache.config import knob
from gateway_project.response_cache.policy import variant_key
from gateway_project.response_cache.store_base import Found, Offer, StoreUnavailable

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
# ARGV: ttl, entry, vary names, sequence seen at lookup, n. Beside the entry, `<entry>|tags`
# names its tag sets: a purge of a tag the entry no longer has (it was stored again with
# other tags) leaves it, as the memory store does.
PUT_SCRIPT = """
local seen = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
if tonumber(redis.call('GET', KEYS[3]) or '0') < seen then return 0 end
for i = 1, n do
  local purged = redis.call('GET', KEYS[3 + n + i])
  if purged and tonumber(purged) > seen then return 0 end
end
local ttl = tonumber(ARGV[1])
local tagged = {}
for i = 1, n do tagged[i] = KEYS[3 + i] end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ttl)
redis.call('SET', KEYS[2] .. '|tags', ',' .. table.concat(tagged, ',') .. ',', 'EX', ttl)
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


class RedisStore(SharedRedis):
    """`namespace`: where the keys live, the projects' shared one unless a test passes its own."""

    def __init__(self, cache: Any, *, namespace: str | None = None) -> None:
        super().__init__(
            cache,
            retry_seconds=knob("BACKEND_RETRY_SECONDS"),
            failure_log="response cache bypassed, Redis failed",
            log_interval=knob("FAILURE_LOG_INTERVAL"),
        )
        self.names = ResponseCacheKeys(namespace or shared_namespace())

    def _run(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """One script, its keys already named (an entry's key is also an argument), or
        StoreUnavailable."""
        return self.guarded(lambda: self.registered(source)(keys=keys, args=args), StoreUnavailable)

    def lookup(self, base: str, headers: Mapping[str, str]) -> Found:
        names = self.names
        args: list[str] = [names.entries(base)]
        for name, value in headers.items():
            args += [name, value]
        seq, raw = self._run(LOOKUP_SCRIPT, [names.vary(base), names.sequence], args)
        return Found(raw, int(seq))

    def put(self, offer: Offer) -> bool:
        names, base, tags = self.names, offer.base, offer.tags
        entry = f"{names.entries(base)}:{variant_key(offer.names, offer.headers)}"
        keys = [names.vary(base), entry, names.sequence]
        keys += [names.tag(tag) for tag in tags]
        keys += [names.purge_mark(tag) for tag in tags]
        args = [offer.ttl, offer.raw, ",".join(offer.names), offer.seen, len(tags)]
        return bool(self._run(PUT_SCRIPT, keys, args))

    def purge(self, tags: Sequence[str]) -> int:
        seconds = knob("PURGE_MEMORY_SECONDS")
        return self.guarded(
            lambda: response_cache_purge(self, self.names, tags, mark_seconds=seconds),
            StoreUnavailable,
        )

    def reset(self) -> None:
        self.delete_names_matching(self.names.name("*"))
        self.recovered()
