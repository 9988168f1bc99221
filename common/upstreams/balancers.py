"""Which healthy instance takes the next request: one strategy class per GATEWAY_BALANCER name.

As DRF's throttles are subclasses of one small base, each balancer is a subclass of
`Balancer` with its `name`; `gateway_project.conf.BALANCERS` lists the names the setting
accepts (a test keeps the two equal), so a typo stops the start.
"""

from __future__ import annotations

import itertools
import random
from typing import ClassVar, Protocol, TypeVar


class Loaded(Protocol):
    in_flight: int


L = TypeVar("L", bound=Loaded)  # what is chosen among: an instance of the pool


class Balancer:
    """Chooses among two or more healthy instances (a pool with one never asks)."""

    name: ClassVar[str] = ""

    def choose(self, healthy: list[L]) -> L:
        raise NotImplementedError


class RoundRobin(Balancer):
    """Each instance in turn."""

    name = "round_robin"

    def __init__(self) -> None:
        self._turn = itertools.count()

    def choose(self, healthy: list[L]) -> L:
        return healthy[next(self._turn) % len(healthy)]


class LeastRequest(Balancer):
    """Two random instances, the one with fewer requests in flight (Envoy's power of two
    choices): near the least loaded without a scan or a shared order."""

    name = "least_request"

    def choose(self, healthy: list[L]) -> L:
        first, second = random.sample(healthy, 2)
        if first.in_flight == second.in_flight:
            return first
        return first if first.in_flight < second.in_flight else second


STRATEGIES: dict[str, type[Balancer]] = {cls.name: cls for cls in (RoundRobin, LeastRequest)}


def balancer_named(name: str) -> Balancer:
    """A new strategy object (each pool keeps its own turn)."""
    return STRATEGIES[name]()
