"""End-to-end fixtures: one stack of real processes per session, more where a test needs its own."""

from __future__ import annotations

import pytest

from tests.harness import Stack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """Users, products, orders and the gateway, running, wired together, ready."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()
