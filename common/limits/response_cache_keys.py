"""The gateway's response cache as it lies in Redis: its key names and its purge.

The gateway keeps answers there and the product service purges them there itself (so a
purge needs no gateway up): both name the keys here, under the explicit shared namespace
(COMMON["SHARED_CACHE_PREFIX"], as token revocation does: the projects' cache KEY_PREFIXes
differ), and both purge with PURGE_SCRIPT, which feeds the race guard of the gateway's
store script (`gateway_project/response_cache/redis_store.py`, PUT_SCRIPT).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from common.limits.shared_redis import SharedRedis
from common.settings.namespaces import common_settings

# How long a purge is remembered for the race guard by default: longer than any upstream
# exchange can take (the read timeouts are seconds). The gateway's PURGE_MEMORY_SECONDS.
PURGE_MARK_SECONDS = 300

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
    local tagged = redis.call('GET', key .. '|tags')
    if not tagged or string.find(tagged, ',' .. KEYS[1 + i] .. ',', 1, true) then
      removed = removed + redis.call('DEL', key)
      redis.call('DEL', key .. '|tags')
    end
  end
  redis.call('DEL', KEYS[1 + i])
  redis.call('SET', KEYS[1 + n + i], seq, 'EX', ARGV[2])
end
return removed
"""


def shared_namespace() -> str:
    """Where the response cache's keys live for every project on this Redis."""
    return f"{common_settings.SHARED_CACHE_PREFIX}:rc"


@dataclass(frozen=True)
class ResponseCacheKeys:
    """The names of the response cache's keys under one namespace (a test may pass its
    own; running code uses `shared_namespace()`)."""

    namespace: str

    def name(self, part: str) -> str:
        return f"{self.namespace}:{part}"

    @property
    def sequence(self) -> str:
        """The purge sequence number: a lookup returns it, a purge raises it."""
        return self.name("seq")

    def vary(self, base: str) -> str:
        return self.name(f"vary:{base}")

    def entries(self, base: str) -> str:
        """The prefix of a resource's entries (one per variant: `<this>:<variant>`)."""
        return self.name(f"e:{base}")

    def tag(self, tag: str) -> str:
        """The set of the entry keys that carry `tag`."""
        return self.name(f"tag:{tag}")

    def purge_mark(self, tag: str) -> str:
        """The sequence number at which `tag` was last purged (the race guard reads it)."""
        return self.name(f"purged:{tag}")

    def purge_keys(self, tags: Sequence[str]) -> list[str]:
        """PURGE_SCRIPT's KEYS for `tags`."""
        return [self.sequence, *map(self.tag, tags), *map(self.purge_mark, tags)]


def response_cache_purge(
    redis: SharedRedis,
    keys: ResponseCacheKeys,
    tags: Sequence[str],
    *,
    mark_seconds: int = PURGE_MARK_SECONDS,
) -> int:
    """Drop every entry carrying one of `tags` and mark the tags purged; how many entries
    went. Errors are redis-py's (RedisError, or OSError from the socket)."""
    script = redis.registered(PURGE_SCRIPT)
    return int(script(keys=keys.purge_keys(tags), args=[len(tags), mark_seconds]))
