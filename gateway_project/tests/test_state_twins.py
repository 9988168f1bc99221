"""The twins of the gateway's shared state agree, answer for answer (common.limits.state).

Breakers (the Lua scripts and MemoryBreakerStore), the registry and the response cache
(its Lua scripts and MemoryStore) are each driven, Redis and memory side by side, by the
same seeded random operations on one test clock, and every answer is compared. The
memory twins read the test's clock, and so do the breaker scripts (their `now` argument)
and the registry; Redis' own clock, which expires keys, is moved by shortening every
key's time to live by the same amount (common.testing.TwinRedis). Durations are whole
minutes, so the real milliseconds Redis' clock also runs never cross a boundary.

Redis is the test run's (REDIS_URL, as in test_response_cache_store.py); without it these
skip. With REDIS_URL set and Redis unreachable, they fail.
"""

from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest

from common.limits.shared_redis import SharedRedis
from common.limits.state import redis_cache
from common.testing import ManualClock, random_ops, run_twins
from common.upstreams.breaker import (
    BreakerSettings,
    MemoryBreakerStore,
    RedisBreakerStore,
)
from gateway_project.observability.traffic import (
    BUCKET_SECONDS,
    WINDOW_SECONDS,
    MemoryTraffic,
    RedisTraffic,
)
from gateway_project.observability.usage import MemoryUsage, RedisUsage
from gateway_project.observability.usage import today as usage_today
from gateway_project.response_cache.redis_store import RedisStore
from gateway_project.response_cache.store import MemoryStore, Offer
from gateway_project.upstreams.registry import MemoryRegistry, RedisRegistry

MINUTE = 60_000
STEPS = 300
SEEDS = range(4)
pytestmark = pytest.mark.skipif(
    redis_cache() is None, reason="REDIS_URL not set: no Redis twin to compare"
)
BREAKER = BreakerSettings(failures=3, reset_seconds=60, trial_seconds=120, window_seconds=180)


def _texts(entry: dict) -> dict[str, str]:
    """A stored breaker as Redis keeps it: every field a string, numbers as integers."""
    return {
        str(name): str(int(float(value))) if str(value)[:1].isdigit() else str(value)
        for name, value in entry.items()
    }


def _key(rng) -> str:
    return f"breaker:{rng.randrange(2)}"


def breaker_ops(seed: int) -> list[tuple]:
    """failure/success (as the trial or not), acquire, read, and advances up to a day."""
    return random_ops(
        seed,
        STEPS,
        [
            (0.35, lambda rng: ("failure", _key(rng), rng.random() < 0.3)),
            (0.2, lambda rng: ("acquire", _key(rng))),
            (0.2, lambda rng: ("success", _key(rng), rng.random() < 0.5)),
            (0.05, lambda rng: ("read", _key(rng))),
            (0.196, lambda rng: ("advance", MINUTE * rng.choice((0, 1, 1, 2, 3, 8, 40)))),
            (0.004, lambda rng: ("advance", MINUTE * 24 * 60)),
        ],
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_the_breaker_scripts_and_memory_make_the_same_transitions(seed, twin_redis):
    clock = ManualClock()
    memory = MemoryBreakerStore(clock=clock.ms)
    redis = RedisBreakerStore(SharedRedis(twin_redis.cache), clock=clock.ms)

    def answers(op: tuple) -> list:
        name, key, *trial = op
        if name == "read":
            return [_texts(store.read(key)) for store in (memory, redis)]
        if name == "acquire":
            return [store.acquire(key, BREAKER) for store in (memory, redis)]
        return [getattr(store, name)(key, BREAKER, *trial) for store in (memory, redis)]

    run_twins(breaker_ops(seed), clock, twin_redis, answers)


def test_a_breaker_opens_half_opens_and_closes_on_the_test_clock(twin_redis):
    """The premise, on both twins: the clock argument alone moves the state machine."""
    clock = ManualClock()
    redis = RedisBreakerStore(SharedRedis(twin_redis.cache), clock=clock.ms)
    for store in (MemoryBreakerStore(clock=clock.ms), redis):
        key = f"breaker:{type(store).__name__}"
        results = [store.failure(key, BREAKER, False) for _ in range(3)]
        assert results[-1] == ("open", 60_000, "open")
        clock.advance(MINUTE - 1)
        assert store.acquire(key, BREAKER) == ("open", 1, "")
        clock.advance(1)
        assert store.acquire(key, BREAKER) == ("half_open", 0, "half_open")
        assert store.success(key, BREAKER, True) == ("closed", 0, "closed")


def test_a_success_on_no_breaker_keeps_nothing(twin_redis):
    """A success where no breaker is kept (never failed, or expired) makes none: in Redis no
    hash without an expiry, in memory no entry."""
    clock = ManualClock()
    shared = SharedRedis(twin_redis.cache)
    redis, memory = RedisBreakerStore(shared, clock=clock.ms), MemoryBreakerStore(clock=clock.ms)
    for store in (memory, redis):
        assert store.success("breaker:fresh", BREAKER, False) == ("closed", 0, "")
        assert store.read("breaker:fresh") == {}
    client = twin_redis.cache.client.get_client(write=True)
    assert client.keys(twin_redis.cache.make_key("breaker:*")) == []


def registry_ops(seed: int) -> list[tuple]:
    """heartbeat (an instance's URL may change), deregister, live, and advances."""

    def service(rng) -> str:
        return f"svc{rng.randrange(2)}"

    def heartbeat(rng) -> tuple:
        url = f"http://10.0.0.{rng.randrange(2)}:80"
        return ("heartbeat", service(rng), f"i{rng.randrange(3)}", url)

    return random_ops(
        seed,
        STEPS,
        [
            (0.45, heartbeat),
            (0.1, lambda rng: ("deregister", service(rng), f"i{rng.randrange(3)}")),
            (0.25, lambda rng: ("live", service(rng), rng.choice((30.0, 90.0)))),
            (0.2, lambda rng: ("advance", rng.choice((0, 10_000, 30_000, 60_000)))),
        ],
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_the_registries_agree(seed, twin_redis):
    clock = ManualClock()
    shared = SharedRedis(twin_redis.cache)
    stores = MemoryRegistry(clock=clock.seconds), RedisRegistry(shared, clock=clock.seconds)

    def answers(op: tuple) -> list:
        name, *args = op
        found = [getattr(store, name)(*args) for store in stores]
        if name == "live":
            return [sorted(entries, key=lambda e: e.instance_id) for entries in found]
        return found

    run_twins(registry_ops(seed), clock, twin_redis, answers)


def test_a_heartbeat_between_reading_an_instance_as_expired_and_dropping_it_keeps_it(
    twin_redis,
):
    """live() reads the hash, then drops what it read as expired: an instance that
    heartbeats in between stays (the drop checks again, in Redis)."""
    clock = ManualClock()
    registry = RedisRegistry(SharedRedis(twin_redis.cache), clock=clock.seconds)
    registry.heartbeat("svc", "i1", "http://10.0.0.1:80")
    clock.advance(MINUTE)
    hgetall = registry.redis.client.hgetall
    key = registry.redis.key("registry:svc")

    def read_then_heartbeat(name: str) -> dict:
        stale = hgetall(name)  # what live() read: i1 a minute old
        registry.heartbeat("svc", "i1", "http://10.0.0.1:80")  # ... and i1 beats now
        return stale

    with mock.patch.object(type(registry.redis.client), "hgetall", autospec=True) as patched:
        patched.side_effect = lambda client, name: read_then_heartbeat(name)
        assert registry.live("svc", ttl=30) == []  # as read
    assert [e.instance_id for e in registry.live("svc", ttl=30)] == ["i1"]
    assert hgetall(key)


VARIES = ((), ("accept",), ("accept", "accept-language"))
HEADERS = (
    {"accept": "application/json"},
    {"accept": "text/html"},
    {"accept": "application/json", "accept-language": "fr"},
    {},
)
TAGS = ("t0", "t1", "t2")


def cache_ops(seed: int) -> list[tuple]:
    """lookup, put (of what the last lookup of that base saw, or of an older sequence
    number), purge of some tags, and advances, on a few bases, variants and tags."""

    def base(rng) -> str:
        return f"b{rng.randrange(3)}"

    def put(rng) -> tuple:
        tags = tuple(sorted(rng.sample(TAGS, rng.randrange(1, 3))))
        raw = f"{rng.random()}"
        ttl = 60 * rng.choice((1, 2, 3))
        fresh = rng.random() < 0.8
        return ("put", base(rng), rng.choice(VARIES), rng.choice(HEADERS), raw, ttl, tags, fresh)

    return random_ops(
        seed,
        STEPS,
        [
            (0.35, lambda rng: ("lookup", base(rng), rng.choice(HEADERS))),
            (0.35, put),
            (0.15, lambda rng: ("purge", tuple(rng.sample(TAGS, rng.randrange(1, 3))))),
            (0.15, lambda rng: ("advance", MINUTE * rng.choice((0, 1, 1, 2, 5)))),
        ],
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_the_response_stores_agree(seed, twin_redis):
    clock = ManualClock()
    # In the twin's corner (its clock moves only those keys), not the shared namespace.
    redis = RedisStore(twin_redis.cache, namespace=twin_redis.cache.make_key("rc"))
    stores = MemoryStore(clock=clock.seconds), redis
    seen: dict[str, int] = {}  # base -> the sequence number its last lookup saw

    def answers(op: tuple) -> list:
        name, *args = op
        if name == "lookup":
            found = [store.lookup(*args) for store in stores]
            seen[args[0]] = found[0].seq
            return found
        if name == "purge":
            return [store.purge(args[0]) for store in stores]
        base, names, headers, raw, ttl, tags, fresh = args
        since = seen.get(base, 0) if fresh else 0
        offer = Offer(base, names, headers, raw.encode(), ttl, tags, since)
        return [store.put(offer) for store in stores]

    run_twins(cache_ops(seed), clock, twin_redis, answers)


def traffic_ops(seed: int) -> list[tuple]:
    """Batches of counts for the current bucket (or the one before: a flush a moment
    late), reads of the window, and advances of up to a window."""

    def batch(rng) -> tuple:
        fields = {f"route|r{rng.randrange(3)}|{rng.choice('neh')}": rng.randrange(1, 9)}
        return ("add", rng.choice((0, 0, 1)), fields)

    seconds = (0, BUCKET_SECONDS, 6 * BUCKET_SECONDS, 30 * BUCKET_SECONDS, WINDOW_SECONDS)
    return random_ops(
        seed,
        STEPS,
        [
            (0.6, batch),
            (0.2, lambda rng: ("read",)),
            (0.2, lambda rng: ("advance", 1000 * rng.choice(seconds))),
        ],
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_the_traffic_stores_agree(seed, twin_redis):
    clock = ManualClock()
    stores = MemoryTraffic(), RedisTraffic(twin_redis.cache)

    def answers(op: tuple) -> list:
        last = int(clock.seconds()) // BUCKET_SECONDS
        if op[0] == "add":
            batch = {last - op[1]: Counter(op[2])}
            return [store.add(batch) for store in stores]
        wanted = list(range(last - WINDOW_SECONDS // BUCKET_SECONDS + 1, last + 1))
        return [store.read(wanted) for store in stores]

    run_twins(traffic_ops(seed), clock, twin_redis, answers)


def usage_ops(seed: int) -> list[tuple]:
    """Batches of a consumer's counts on one of the last days, and reads of a week."""

    def batch(rng) -> tuple:
        field = f"/r{rng.randrange(3)}|{rng.choice(('n', 'c2', 'c429', 'h3'))}"
        return ("add", rng.randrange(3), rng.randrange(6), {field: rng.randrange(1, 9)})

    return random_ops(seed, STEPS, [(0.7, batch), (0.3, lambda rng: ("read", rng.randrange(3)))])


@pytest.mark.parametrize("seed", SEEDS)
def test_the_consumer_usage_stores_agree(seed, twin_redis):
    clock = ManualClock()
    stores = MemoryUsage(), RedisUsage(twin_redis.cache)
    day = usage_today()

    def answers(op: tuple) -> list:
        if op[0] == "add":
            batch = {(op[1], day - op[2]): Counter(op[3])}
            return [store.add(batch) for store in stores]
        return [store.read(op[1], list(range(day - 6, day + 1))) for store in stores]

    run_twins(usage_ops(seed), clock, twin_redis, answers)
