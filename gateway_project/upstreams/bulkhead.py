"""Bulkheads: how many requests of one gateway worker may wait on one service at a time.

Every request a worker thread forwards holds that thread until the service answers, so
one service that stops answering would, unbounded, end up holding every thread of the
worker, and routes that never touch it would queue behind its callers. Each service gets
a bulkhead per worker (Envoy's `max_requests`, Hystrix's semaphore isolation): a request
takes a slot before its first attempt and gives it back when the answer (or the failure)
is final, retries included. A request finding every slot taken waits `BULKHEAD_WAIT`
at most for one (under plain load slots free within milliseconds); when none has come
free for that long the service is stuck rather than busy, and the request is answered
at once with 503 `bulkhead-full` naming the service, without touching it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from common.settings.server_env import worker_threads
from common.upstreams import metrics


class Bulkhead:
    """A counted semaphore that tells a busy service from a stuck one, and reports how
    full it is (the status pages read it). `clock` (seconds) is for tests."""

    def __init__(
        self, service: str, limit: int, wait: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.service = service
        self.limit = limit
        self.wait = wait
        self.in_flight = 0
        self.rejected = 0
        self._now = clock
        self._moved = clock()  # when a slot was last given back, or the last one taken
        self._free = threading.Condition(threading.Lock())

    def enter(self) -> bool:
        """Take a slot: False when every one is taken and none came free within `wait`.

        A request finding the slots taken waits for one, `wait` seconds at most, unless
        none has come free for that long already: the service is stuck, not busy, and
        the request is refused at once (so its callers cost no thread time)."""
        with self._free:
            if self.in_flight >= self.limit:
                stuck = self._now() - self._moved >= self.wait
                if stuck or not self._free.wait_for(self._has_room, self.wait):
                    self.rejected += 1
                    metrics.BULKHEAD_REJECTIONS.labels(self.service).inc()
                    return False
            self.in_flight += 1
            if self.in_flight == self.limit:
                self._moved = self._now()
            return True

    def _has_room(self) -> bool:
        return self.in_flight < self.limit

    def leave(self) -> None:
        with self._free:
            self.in_flight -= 1
            self._moved = self._now()
            self._free.notify()

    def status(self) -> dict[str, int]:
        return {"in_flight": self.in_flight, "limit": self.limit, "rejected": self.rejected}


def default_limit(threads: Callable[[], int] = worker_threads) -> int:
    """All of a worker's threads but one: whatever one service does, a thread of every
    worker stays for the others. A stricter share is a per-service setting."""
    return max(1, threads() - 1)
