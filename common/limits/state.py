"""One seam for shared state: every kind is chosen the same way, Redis or memory.

Each kind of state the workers and replicas share (window counters, breakers, the
discovery registry, the response cache, token revocation) has one interface (a
`typing.Protocol` beside its implementations) and two implementations of it: one in
Redis and its twin in process memory. `pick_store` is the one choice between them: the
Redis implementation when the default cache is django-redis (REDIS_URL), else the memory
one. What a kind does while Redis fails (memory for a moment, bypass, fail open) is its
own policy, composed around the store this returns.

The twins must agree: `common/tests/test_state_twins.py` and
`gateway_project/tests/test_state_twins.py` drive each pair with the same random
operations on one controlled clock and compare every answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import caches

from common.limits.shared_redis import is_redis_cache

M = TypeVar("M")
R = TypeVar("R")


def redis_cache(alias: str = "default") -> Any | None:
    """The django-redis cache the shared state lives behind, or None (no Redis)."""
    cache = caches[alias]
    return cache if is_redis_cache(cache) else None


def pick_store(memory: Callable[[], M], redis: Callable[[Any], R]) -> M | R:
    """`redis(cache)` when the default cache is django-redis, else `memory()`."""
    cache = redis_cache()
    return memory() if cache is None else redis(cache)
