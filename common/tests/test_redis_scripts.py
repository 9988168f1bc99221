"""Lua scripts (counters, the response cache, breakers) on a thread's own Redis connection."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.core.cache import caches

from common.limits.counters import WINDOW_SCRIPT
from common.limits.redis_scripts import ThreadScript, thread_connection
from common.limits.shared_redis import is_redis_cache

pytestmark = pytest.mark.skipif(
    not is_redis_cache(caches["default"]), reason="REDIS_URL not set: no Redis to talk to"
)


@pytest.fixture
def client() -> redis.Redis:
    return caches["default"].client.get_client(write=True)


@pytest.fixture
def key(client: redis.Redis) -> str:
    name = caches["default"].make_key(f"test-scripts:{secrets.token_hex(6)}")
    yield name
    client.delete(name)


def test_counts_as_redis_pys_script_does(client, key):
    script = ThreadScript(client, WINDOW_SCRIPT)

    first = script(keys=[key], args=[60_000])
    second = script(keys=[key], args=[60_000])

    assert first == [1, 60_000]
    assert second[0] == 2
    assert 0 < second[1] <= 60_000
    assert client.register_script(WINDOW_SCRIPT)(keys=[key], args=[60_000])[0] == 3


def test_a_script_the_server_does_not_know_is_loaded_as_it_runs(client, key):
    source = f"-- {secrets.token_hex(8)}\nreturn redis.call('INCR', KEYS[1])"
    script = ThreadScript(client, source)
    assert client.script_exists(script.sha) == [False]

    assert script(keys=[key], args=[]) == 1
    assert client.script_exists(script.sha) == [True]
    assert script(keys=[key], args=[]) == 2


def test_a_kept_connection_the_server_closed_is_replaced_once(client, key):
    script = ThreadScript(client, WINDOW_SCRIPT)
    script(keys=[key], args=[60_000])
    connection = thread_connection(client.connection_pool)
    connection.send_command("CLIENT", "ID")
    client.client_kill_filter(_id=connection.read_response())

    assert script(keys=[key], args=[60_000])[0] == 2


def test_counts_are_exact_across_threads(client, key):
    script = ThreadScript(client, WINDOW_SCRIPT)
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: script(keys=[key], args=[60_000])[0], range(400)))

    assert sorted(counts) == list(range(1, 401))


def test_an_unreachable_server_is_a_redis_error():
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)

    with pytest.raises(redis.ConnectionError):
        ThreadScript(unreachable, WINDOW_SCRIPT)(keys=["k"], args=[1000])
