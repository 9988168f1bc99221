"""End-to-end fixtures: one stack of real processes per session, more where a test needs its own."""

from __future__ import annotations

import pytest

from devtools.harness import RedisProcess, Stack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """Users, products, orders and the gateway, running, wired together, ready."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()


@pytest.fixture
def private_redis() -> RedisProcess:
    """A redis-server of the test's own, which it may freeze, kill and start again."""
    redis = RedisProcess().start()
    yield redis
    redis.kill()
