"""The one record of each proxied request, and of each call the proxy made to a service.

The request path adds a record to a dict under a lock and goes on (`request`,
`attempt`): a key of what is counted (the 10 s bucket, route, service, method, status,
latency bucket, the throttle that refused it, the consumer) and [how many, their
seconds]. Everything that counts proxied requests is derived from these records, once a
second, by `flush`, in the thread that `request` starts in each process:

- the Prometheus series (`observability.metrics`: requests, latency, throttled, the
  calls to services), in this process's multiprocess files;
- the dashboard's traffic buckets (`observability.traffic`: Redis, or this process);
- the consumers' usage per day (`observability.usage`: the same stores).

So the figures of the three agree, and a request costs one dict update instead of a
dozen writes. A reader that must see this process's latest requests flushes first
(`flush`: the dashboard, the usage report, a scrape of /metrics here); another process's
come within FLUSH_SECONDS. At exit, a process flushes what it still holds.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from functools import partial
from typing import Any

from django.http import HttpRequest

from common.observability.scrape_gauges import is_scrape
from common.settings.namespaces import on_test_reset
from gateway_project.observability import metrics, traffic, usage
from gateway_project.observability.metrics import AttemptKey, RequestKey, Tally, latency_slot

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
FAILURE_LOG_INTERVAL = 60.0

_lock = threading.Lock()
_flushing = threading.Lock()  # one flush at a time; a reader waits for one under way
_requests: dict[RequestKey, Tally] = {}
_attempts: dict[AttemptKey, Tally] = {}
_flusher: threading.Thread | None = None
_last_failure_log = 0.0


def request(request: HttpRequest, route: Any, status: int, seconds: float) -> None:
    """One proxied request, answered `status` after `seconds` (the hot path)."""
    key: RequestKey = (
        int(time.time()) // traffic.BUCKET_SECONDS,
        route.name,
        route.service,
        request.method or "",
        status,
        latency_slot(seconds),
        getattr(request, "throttled_by", None),
        getattr(getattr(request, "user", None), "consumer_id", None),
    )
    _count(_requests, key, seconds)
    if _flusher is None:
        _start_flusher()


def attempt(service: str, method: str, outcome: str, seconds: float) -> None:
    """One call to a service (`outcome`: its status, or `timeout`, `unavailable`,
    `error`; `circuit_open` and `bulkhead_full` when none could be made)."""
    _count(_attempts, (service, method, outcome, latency_slot(seconds)), seconds)


def _count(records: dict[Any, Tally], key: Any, seconds: float) -> None:
    with _lock:
        tally = records.get(key)
        if tally is None:
            records[key] = [1, seconds]
        else:
            tally[0] += 1
            tally[1] += seconds


def _start_flusher() -> None:
    global _flusher
    with _lock:
        if _flusher is None:
            _flusher = threading.Thread(target=_flush_forever, name="record", daemon=True)
            _flusher.start()
            atexit.register(flush)


def _after_fork() -> None:
    global _flusher
    _flusher = None  # the parent's thread is not the child's


os.register_at_fork(after_in_child=_after_fork)


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        flush()


def flush() -> None:
    """Derive every figure from the records so far: Prometheus here, then the traffic and
    usage stores (one pipelined round trip each with Redis). A part that fails (Redis
    down) loses its share of this batch and is logged; the others and the thread go on."""
    with _flushing:
        with _lock:
            requests, attempts = dict(_requests), dict(_attempts)
            _requests.clear()
            _attempts.clear()
        if not requests and not attempts:
            return
        for what, add in (
            ("Prometheus series", partial(metrics.add_requests, requests)),
            ("Prometheus series", partial(metrics.add_attempts, attempts)),
            ("dashboard traffic", partial(traffic.add, requests)),
            ("consumers' usage", partial(usage.add, requests)),
        ):
            try:
                add()
            except Exception as error:
                _failed(what, error)


def _failed(what: str, error: Exception) -> None:
    global _last_failure_log
    now = time.monotonic()
    if now - _last_failure_log > FAILURE_LOG_INTERVAL:
        _last_failure_log = now
        logger.warning("%s not stored: %s", what, error)


def flush_on_scrape(sender: Any, environ: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """A request_started receiver (proxy's AppConfig.ready): a scrape of /metrics in this
    process shows its requests up to now."""
    if is_scrape(environ):
        flush()


@on_test_reset
def _forget() -> None:
    with _lock:
        _requests.clear()
        _attempts.clear()
