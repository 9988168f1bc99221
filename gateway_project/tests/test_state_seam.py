"""Every kind of shared state picks its store the same way (common.limits.state.pick_store):
the Redis implementation when the default cache is django-redis, else the memory one,
and again after the cache settings change."""

from __future__ import annotations

import pytest
from django.test import override_settings

from common.identity.revocation import MemoryRevocations, RedisRevocations, revocation_store
from common.limits.counters import LocalWindowCounter, RedisWindowCounter
from common.limits.counters import window_counter as common_counter
from common.upstreams.redis_store import redis_store
from gateway_project.observability.traffic import MemoryTraffic, RedisTraffic, traffic_store
from gateway_project.proxy.throttling import window_counter as throttle_counter
from gateway_project.response_cache.redis_store import RedisStore
from gateway_project.response_cache.store import MemoryStore, response_store

# Never connected to: constructing a store must not talk to Redis.
REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}
MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
KINDS = [
    (common_counter, LocalWindowCounter, RedisWindowCounter),
    (throttle_counter, LocalWindowCounter, RedisWindowCounter),
    (response_store, MemoryStore, RedisStore),
    (revocation_store, MemoryRevocations, RedisRevocations),
    (traffic_store, MemoryTraffic, RedisTraffic),
]


@pytest.mark.parametrize(("factory", "memory", "redis"), KINDS, ids=lambda k: k.__name__)
def test_each_kind_follows_the_cache_settings(factory, memory, redis):
    with override_settings(CACHES=REDIS):
        in_redis = factory()
        assert factory() is in_redis  # one store per process until the settings change
    with override_settings(CACHES=MEMORY):
        in_memory = factory()

    assert type(in_redis) is redis
    assert type(in_memory) is memory


def test_breakers_and_registry_share_one_redis_or_none():
    with override_settings(CACHES=REDIS):
        shared = redis_store(1.0)
    with override_settings(CACHES=MEMORY):
        assert redis_store(1.0) is None

    assert shared is not None
    assert shared.cache.client.get_client(write=True).connection_pool.connection_kwargs["port"] == 1
