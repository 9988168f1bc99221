"""A retry budget per service: retries may add at most `ratio` of the requests of the last
ten seconds (plus a small floor, so a quiet service can still retry), so that in an
outage retries cannot multiply the load on what is left (Envoy's retry budgets)."""

from __future__ import annotations

import threading
import time

WINDOW_SECONDS = 10.0


class RetryBudget:
    def __init__(self, ratio: float, *, minimum: int) -> None:
        self.ratio = ratio
        self.minimum = minimum
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        # (requests, retries) in the current and the previous window
        self._current = [0, 0]
        self._previous = [0, 0]

    def _roll(self, now: float) -> None:
        elapsed = now - self._window_start
        if elapsed >= WINDOW_SECONDS:
            self._previous = self._current if elapsed < 2 * WINDOW_SECONDS else [0, 0]
            self._current = [0, 0]
            self._window_start = now

    def request(self) -> None:
        with self._lock:
            self._roll(time.monotonic())
            self._current[0] += 1

    def try_spend(self) -> bool:
        """True (and counted) when one more retry fits in the budget."""
        with self._lock:
            self._roll(time.monotonic())
            requests = self._current[0] + self._previous[0]
            retries = self._current[1] + self._previous[1]
            if retries >= self.minimum + self.ratio * requests:
                return False
            self._current[1] += 1
            return True
