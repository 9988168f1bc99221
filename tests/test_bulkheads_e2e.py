"""One frozen service cannot take every gateway thread: real processes, real HTTP.

The gateway runs one worker of 4 threads with the orders service's bulkhead at 2. The
orders service is frozen (SIGSTOP) while a load of product reads runs: once the bulkhead
has found it stuck (no slot came free for BULKHEAD_WAIT), the product route's p99 stays
within twice its unfrozen p99 (alternating rounds of the same run), and the orders
callers beyond the 2 that hold the slots get 503 `bulkhead-full` at once. Breakers,
ejection and active health are off, so the bulkhead alone is under test (they would
otherwise open and answer `circuit-open` themselves). Without the bulkhead the waiting
orders callers take all 4 threads and the reads wait for the read timeout."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from http import HTTPStatus

import pytest

from common.testing import wait_until
from devtools.harness import http, json_call, mint_access_token, start_gateway, start_stack

pytestmark = pytest.mark.e2e

READ = "/products?page_size=1"
ROUNDS = 2  # of each kind, alternating: unfrozen, frozen, unfrozen, frozen, unfrozen
READS_PER_ROUND = 2 * 40  # two clients, forty reads each
CALLERS = 3  # orders callers at once while it is frozen


def read_latencies(url: str) -> list[float]:
    """Two clients reading at once; every read must succeed."""
    seconds: list[float] = []
    failures: list[int] = []

    def client() -> None:
        for _ in range(READS_PER_ROUND // 2):
            started = time.perf_counter()
            status = http("GET", url, timeout=20)[0]
            seconds.append(time.perf_counter() - started)
            if status != HTTPStatus.OK:
                failures.append(status)

    threads = [threading.Thread(target=client) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return seconds


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def test_a_frozen_service_holds_its_bulkhead_only_and_other_routes_keep_their_latency(tmp_path):
    stack = start_stack(tmp_path, ["products", "orders"])
    orders = stack["orders"]
    try:
        gateway = start_gateway(
            stack,
            WEB_CONCURRENCY="1",
            WEB_THREADS="4",
            GATEWAY_BULKHEAD="orders=2",
            GATEWAY_BULKHEAD_WAIT="0.25",  # the onset short: the default is 1 s
            HTTP_READ_TIMEOUT="6",
            GATEWAY_BREAKER_FAILURES="1000",
            GATEWAY_EJECT_CONSECUTIVE="1000",
            GATEWAY_HEALTH_INTERVAL="0",
            GATEWAY_CACHE_SECONDS="0",  # every read must reach the product service
            GATEWAY_RATE_ANON="100000/min",
            GATEWAY_RATE_USER="100000/min",
        )
        token = mint_access_token(stack, user_id=7)
        staff = mint_access_token(stack, user_id=1, is_staff=True)
        orders_url = f"{gateway.url}/orders"
        auth = {"Authorization": f"Bearer {token}"}
        assert http("GET", orders_url, headers=auth)[0] == HTTPStatus.OK
        read_latencies(f"{gateway.url}{READ}")  # warm: connections, caches, code paths

        unfrozen: list[float] = []
        frozen: list[float] = []
        refusals: list[list[tuple[int, float, dict]]] = []
        for _ in range(ROUNDS):
            unfrozen += read_latencies(f"{gateway.url}{READ}")

            # given: orders freezes and two callers wait on it, holding its two slots
            os.killpg(orders.process.pid, signal.SIGSTOP)
            holders = [
                threading.Thread(target=http, args=("GET", orders_url), kwargs={"headers": auth})
                for _ in range(2)
            ]
            for holder in holders:
                holder.start()
            wait_until(lambda: bulkhead(gateway, staff)["in_flight"] == 2, every=0.05)

            # when: reads run while three orders callers keep calling (enough, unbounded,
            # to take every thread of the worker)
            stop = threading.Event()
            refused = []
            refusals.append(refused)

            def call_orders(refused=refused, stop=stop) -> None:
                while not stop.is_set() or len(refused) < 2 * CALLERS:
                    started = time.perf_counter()
                    status, _, body = http("GET", orders_url, headers=auth, timeout=20)
                    refused.append((status, time.perf_counter() - started, json.loads(body)))
                    stop.wait(0.1)

            callers = [threading.Thread(target=call_orders) for _ in range(CALLERS)]
            for caller in callers:
                caller.start()
            # The onset: for BULKHEAD_WAIT after the slots fill, a caller waits for one,
            # as it would for a busy service; after it, the service counts as stuck.
            wait_until(lambda refused=refused: len(refused) >= CALLERS, every=0.02)
            frozen += read_latencies(f"{gateway.url}{READ}")
            stop.set()
            for caller in callers:
                caller.join()

            os.killpg(orders.process.pid, signal.SIGCONT)
            for holder in holders:
                holder.join()
        unfrozen += read_latencies(f"{gateway.url}{READ}")

        # then: the reads kept their latency
        assert p99(frozen) <= 2 * p99(unfrozen), (p99(frozen), p99(unfrozen))
        # and: every orders caller beyond the slots got a fast 503 naming the service
        every = [refusal for episode in refusals for refusal in episode]
        assert {status for status, _, _ in every} == {HTTPStatus.SERVICE_UNAVAILABLE}
        assert {p["type"].rsplit("/", 1)[-1] for _, _, p in every} == {"bulkhead-full"}
        assert {p["service"] for _, _, p in every} == {"orders"}
        for episode in refusals:
            # The callers that came while the slots had just filled may wait out
            # BULKHEAD_WAIT (0.25 s) for one; once none came free for that long, every
            # later caller is refused at once.
            timings = sorted(seconds for _, seconds, _ in episode)
            assert timings[-1] < 1.0, timings
            assert timings[-CALLERS - 1] < 0.2, timings
        assert bulkhead(gateway, staff)["rejected"] == len(every)
    finally:
        if orders.process.poll() is None:
            os.killpg(orders.process.pid, signal.SIGCONT)
        stack.stop()


def bulkhead(gateway, staff: str) -> dict:
    status, _, body = json_call("GET", f"{gateway.url}/gateway/services", token=staff)
    assert status == HTTPStatus.OK, body
    return next(s["bulkhead"] for s in body["services"] if s["name"] == "orders")
