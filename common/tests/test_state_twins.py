"""The twins of common's shared state agree, answer for answer (common.limits.state).

Each Redis implementation and its memory twin (and, for the window counter, the database
one) are driven by the same seeded random operations on one test clock, and every answer
is compared. The memory and database twins read the test's clock; Redis keeps its keys'
time to live itself, so the test moves Redis' clock by shortening every key's time to
live by the same amount (common.testing.TwinRedis). All durations are whole minutes, so
a window ends exactly when the test says in every twin, and the few milliseconds of real
time Redis' clock also runs meanwhile never cross a boundary (a flake would need the
test to take a minute); a time to live Redis answers may be short by at most that real
time (`slack_ms`).

Redis is the test run's (REDIS_URL, as in test_redis_scripts.py): without it only the
twins that need none are compared. With REDIS_URL set and Redis unreachable, the Redis
cases fail.
"""

from __future__ import annotations

import pytest

from common.identity.revocation import MemoryRevocations, RedisRevocations
from common.limits.counters import DatabaseWindowCounter, LocalWindowCounter, RedisWindowCounter
from common.limits.state import redis_cache
from common.testing import ManualClock, TwinRedis, random_ops, run_twins

MINUTE = 60_000
STEPS = 300
SEEDS = range(4)
needs_redis = pytest.mark.skipif(
    redis_cache() is None, reason="REDIS_URL not set: no Redis twin to compare"
)


def counter_ops(seed: int) -> list[tuple]:
    """hit(key, window), a peek, a clock advance, now and then a reset of one key's windows."""
    return random_ops(
        seed,
        STEPS,
        [
            (0.6, lambda rng: ("hit", f"w:{rng.randrange(3)}", MINUTE * rng.choice((1, 2, 3)))),
            (0.1, lambda rng: ("peek", f"w:{rng.randrange(3)}")),
            (0.27, lambda rng: ("advance", MINUTE * rng.choice((0, 1, 1, 2, 3)))),
            (0.03, lambda rng: ("reset", f"w:{rng.randrange(3)}")),
        ],
    )


def drive_counters(seed: int, counters: dict, clock: ManualClock, redis: TwinRedis | None) -> None:
    """Every counter gets each hit: the counts must be equal, and the times to live too
    (Redis' short by at most the real time the test took). A reset answers nothing."""

    def answers(op: tuple) -> list:
        if op[0] == "reset":
            return [counter.reset(op[1]) for counter in counters.values()]
        if op[0] == "peek":
            return [(name, counter.peek(op[1]), None) for name, counter in counters.items()]
        return [(name, *counter.hit(op[1], op[2])) for name, counter in counters.items()]

    def agree(found: list) -> bool:
        if found[0] is None:
            return True
        _, count, ttl = found[0]  # memory's
        if ttl is None:  # a peek: the counts alone
            return all(other == count for _, other, _ in found[1:])
        slack = redis.slack_ms() if redis is not None else 0
        return all(
            other == count and ttl - (slack if name == "redis" else 0) <= left <= ttl
            for name, other, left in found[1:]
        )

    run_twins(counter_ops(seed), clock, redis, answers, agree)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS)
def test_the_database_counter_counts_as_memory_does(seed):
    clock = ManualClock()
    counters = {
        "memory": LocalWindowCounter(clock=clock.ms),
        "database": DatabaseWindowCounter(clock=clock.ms),
    }
    drive_counters(seed, counters, clock, None)


@needs_redis
@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS)
def test_the_redis_script_counts_as_memory_and_the_database_do(seed, twin_redis):
    clock = ManualClock()
    counters = {
        "memory": LocalWindowCounter(clock=clock.ms),
        "database": DatabaseWindowCounter(clock=clock.ms),
        "redis": RedisWindowCounter(twin_redis.cache),
    }
    drive_counters(seed, counters, clock, twin_redis)


def test_a_window_ends_when_the_test_clock_says_in_memory():
    """The differential tests' premise: the test clock alone ends a memory window."""
    clock = ManualClock()
    counter = LocalWindowCounter(clock=clock.ms)
    assert counter.hit("k", MINUTE) == (1, MINUTE)
    clock.advance(MINUTE - 1)
    assert counter.hit("k", MINUTE) == (2, 1)
    clock.advance(1)
    assert counter.hit("k", MINUTE) == (1, MINUTE)


@needs_redis
def test_advancing_the_redis_clock_ends_a_redis_window(twin_redis):
    """... and TwinRedis.advance alone ends a Redis one, as Redis' own clock would."""
    counter = RedisWindowCounter(twin_redis.cache)
    assert counter.hit("k", MINUTE)[0] == 1
    twin_redis.advance(MINUTE - 1000)
    count, ttl = counter.hit("k", MINUTE)
    assert count == 2
    assert 0 < ttl <= 1000
    twin_redis.advance(1000)
    assert counter.hit("k", MINUTE)[0] == 1


def revocation_ops(seed: int) -> list[tuple]:
    """revoke(user, at some minute around now, kept 2 or 5 min), lookup(user), advances."""
    return random_ops(
        seed,
        STEPS,
        [
            (
                0.35,
                lambda rng: (
                    "revoke",
                    rng.randrange(3),
                    MINUTE * rng.randrange(-3, 4),
                    rng.choice((2, 5)) * 60,
                ),
            ),
            (0.4, lambda rng: ("lookup", rng.randrange(3))),
            (0.25, lambda rng: ("advance", MINUTE * rng.choice((0, 1, 2, 3)))),
        ],
    )


@needs_redis
@pytest.mark.parametrize("seed", SEEDS)
def test_revocation_records_agree(seed, twin_redis):
    clock = ManualClock()
    stores = MemoryRevocations(clock=clock.ms), RedisRevocations(twin_redis.cache)

    def answers(op: tuple) -> list[int]:
        key = twin_redis.cache.make_key(f"revoked-before:{op[1]}")
        if op[0] == "revoke":
            return [store.revoke_before(key, clock.ms() + op[2], op[3]) for store in stores]
        return [store.revoked_before(key) for store in stores]

    run_twins(revocation_ops(seed), clock, twin_redis, answers)


def test_a_revocation_record_never_goes_back_and_expires():
    clock = ManualClock()
    store = MemoryRevocations(clock=clock.ms)
    now = clock.ms()
    assert store.revoke_before("u", now, 60) == now
    assert store.revoke_before("u", now - MINUTE, 60) == now  # a replica's clock behind
    assert store.revoked_before("u") == now
    clock.advance(MINUTE)
    assert store.revoked_before("u") == 0
