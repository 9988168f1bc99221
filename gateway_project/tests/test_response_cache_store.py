"""Both stores (memory; Redis where configured): entries, Vary, purges and the race guard."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import override_settings

from common.testing import wait_until
from gateway_project.response_cache.store import MemoryStore, Offer

HEADERS = {"accept": "application/json"}


def _stores() -> list:
    params = [pytest.param("memory", id="memory")]
    default = caches["default"]
    redis = hasattr(default, "client") and hasattr(default.client, "get_client")
    params.append(
        pytest.param(
            "redis",
            id="redis",
            marks=pytest.mark.skipif(not redis, reason="REDIS_URL not set: memory only"),
        )
    )
    return params


@pytest.fixture(params=_stores())
def store(request):
    if request.param == "memory":
        created = MemoryStore()
    else:
        from gateway_project.response_cache.redis_store import RedisStore

        created = RedisStore(caches["default"])
    created.reset()
    yield created
    created.reset()


def put(
    store, base="b1", raw=b"one", *, names=("accept",), headers=HEADERS, tags=("t",), seen=0, ttl=30
):
    return store.put(Offer(base, names, headers, raw, ttl, list(tags), seen))


def test_a_stored_entry_is_found_by_its_variant_only(store):
    seen = store.lookup("b1", HEADERS).seq
    assert put(store, seen=seen)
    assert store.lookup("b1", HEADERS).raw == b"one"
    assert store.lookup("b1", {"accept": "text/html"}).raw is None
    assert store.lookup("b2", HEADERS).raw is None
    assert put(store, raw=b"html", headers={"accept": "text/html"}, seen=seen)
    assert store.lookup("b1", {"accept": "text/html"}).raw == b"html"
    assert store.lookup("b1", HEADERS).raw == b"one"


def test_without_vary_every_request_shares_the_entry(store):
    assert put(store, names=(), seen=store.lookup("b1", {}).seq)
    assert store.lookup("b1", {"accept": "anything"}).raw == b"one"


def test_purge_drops_every_entry_of_a_tag_and_nothing_else(store):
    put(store, "b1", b"one", tags=("path:/products/1", "product-1"))
    put(store, "b2", b"two", tags=("path:/products", "products"))
    put(store, "b3", b"three", tags=("path:/products/3", "product-3"))

    assert store.purge(["product-1", "products"]) == 2

    assert store.lookup("b1", HEADERS).raw is None
    assert store.lookup("b2", HEADERS).raw is None
    assert store.lookup("b3", HEADERS).raw == b"three"


def test_an_answer_fetched_while_its_tag_was_purged_is_not_stored(store):
    seen = store.lookup("b1", HEADERS).seq  # the lookup, before the service is asked
    store.purge(["product-1"])  # the data changes while the request is in flight

    assert not put(store, tags=("path:/products/1", "product-1"), seen=seen)
    assert store.lookup("b1", HEADERS).raw is None
    # A purge of other data does not refuse it; a lookup after the purge stores again.
    seen_again = store.lookup("b1", HEADERS).seq
    store.purge(["product-2"])
    assert put(store, tags=("path:/products/1", "product-1"), seen=seen_again)
    assert store.lookup("b1", HEADERS).raw == b"one"


def test_entries_expire_with_their_ttl(store):
    put(store, ttl=1)
    assert store.lookup("b1", HEADERS).raw == b"one"
    wait_until(lambda: store.lookup("b1", HEADERS).raw is None)


def test_memory_store_is_bounded_least_recently_used_out():
    store = MemoryStore()
    with override_settings(GATEWAY_RESPONSE_CACHE={"MAX_ENTRIES": 3}):
        for number in range(3):
            put(store, f"b{number}", str(number).encode())
        store.lookup("b0", HEADERS)  # used: b1 is now the oldest
        put(store, "b3", b"3")

        assert [store.lookup(f"b{n}", HEADERS).raw for n in range(4)] == [b"0", None, b"2", b"3"]
        # The evicted entry left the tag index too.
        assert store.purge(["t"]) == 3


@pytest.mark.skipif(
    not hasattr(caches["default"], "client"), reason="REDIS_URL not set: memory only"
)
def test_redis_that_lost_its_state_refuses_stores_from_before():
    """After a Redis restart the sequence starts again below what a lookup saw: an
    answer in flight across the restart may predate a purge, so it is not stored."""
    from gateway_project.response_cache.redis_store import RedisStore

    store = RedisStore(caches["default"])
    store.reset()
    for _ in range(3):
        store.purge(["x"])
    seen = store.lookup("b1", HEADERS).seq
    store.reset()  # what a restart without persistence leaves

    assert not put(store, seen=seen)
    store.reset()


@pytest.mark.skipif(
    not hasattr(caches["default"], "client"), reason="REDIS_URL not set: memory only"
)
def test_a_purge_by_another_project_on_the_same_redis_reaches_the_gateways_entries():
    """The product service purges in Redis itself, with its own cache KEY_PREFIX: the
    gateway's keys are in the shared namespace, so its purge drops the entries and its
    marks refuse an answer looked up before it (the race guard)."""
    from django.conf import settings
    from django_redis.cache import RedisCache

    from common.limits.response_cache_keys import (
        ResponseCacheKeys,
        response_cache_purge,
        shared_namespace,
    )
    from common.limits.shared_redis import SharedRedis
    from gateway_project.response_cache.redis_store import RedisStore

    gateway = RedisStore(caches["default"])
    gateway.reset()
    config = settings.CACHES["default"]
    products = RedisCache(config["LOCATION"], {**config, "KEY_PREFIX": "another-project"})
    seen = gateway.lookup("b1", HEADERS).seq
    put(gateway, "b1", tags=("path:/products/1", "product-1"), seen=seen)
    in_flight = gateway.lookup("b2", HEADERS).seq

    removed = response_cache_purge(
        SharedRedis(products), ResponseCacheKeys(shared_namespace()), ["product-1"]
    )

    assert removed == 1
    assert gateway.lookup("b1", HEADERS).raw is None
    assert not put(gateway, "b2", tags=("product-1",), seen=in_flight)
    assert put(gateway, "b2", tags=("product-2",), seen=in_flight)
    gateway.reset()
