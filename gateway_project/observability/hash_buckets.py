"""Counters in Redis hashes, one hash per bucket: what the dashboard's traffic
(observability.traffic, buckets of seconds) and the consumers' usage (observability.usage,
a consumer's day) both keep.

A bucket is named by its id in `key` (a format string with one `{}`), under the cache's
prefix; each addition is HINCRBY per field plus EXPIRE `keep` seconds, so a bucket lives
`keep` after its last addition. Adding a batch and reading a list of buckets are one
pipelined round trip each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any


class RedisHashBuckets:
    def __init__(self, cache: Any, key: str, keep: int) -> None:
        self.cache = cache
        self.key = key
        self.keep = keep

    @property
    def client(self) -> Any:
        return self.cache.client.get_client(write=True)

    def _key(self, bucket: object) -> str:
        key: str = self.cache.make_key(self.key.format(bucket))
        return key

    def add(self, batch: Mapping[Any, Counter[str]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for bucket, tally in batch.items():
            key = self._key(bucket)
            for field, count in tally.items():
                pipe.hincrby(key, field, count)
            pipe.expire(key, self.keep)
        pipe.execute()

    def read(self, buckets: Sequence[Any]) -> dict[Any, Counter[str]]:
        pipe = self.client.pipeline(transaction=False)
        for bucket in buckets:
            pipe.hgetall(self._key(bucket))
        return {
            bucket: Counter({k.decode(): int(v) for k, v in stored.items()})
            for bucket, stored in zip(buckets, pipe.execute(), strict=True)
        }

    def forget(self, buckets: Sequence[Any]) -> None:
        if buckets:
            self.client.delete(*(self._key(bucket) for bucket in buckets))

    def forget_all(self) -> None:
        """Every bucket of this key (tests)."""
        self.cache.delete_pattern(self.key.format("*"))
