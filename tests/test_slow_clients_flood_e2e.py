"""A flood of slow clients against the gateway, in each topology as it ships: other clients
are served as usual while they are open, each slow one ends at its bound, and what they cost
in memory is bounded.

N = 4 x (workers x threads) connections of each kind, all open at once:
- idle: connect and send nothing;
- drippers: send a request's headers one byte a second;
- stalled bodies: send a head announcing a 100-byte body, then 1 byte of it.
Meanwhile two clients probe `GET /health/live` and `GET /products/{id}` back to back.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.harness import RedisProcess, Stack, http, new_product, start_stack
from gateway_project.tests.fake_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

BOUND = 5.0  # CLIENT_HEADER_TIMEOUT and CLIENT_BODY_TIMEOUT here, seconds
SLACK = 3.0  # what a shared two-core machine may add to a bound
THREADS = 4
PROBE_WINDOW = 3.5  # seconds of probing while every slow connection is open (< BOUND)
RSS_PER_SOCKET = 64 * 1024  # the most one slow connection may cost the gateway, bytes


@dataclass(frozen=True)
class Topology:
    name: str
    workers: int
    env: dict[str, str]


# `manage_all.py up`: development, one worker per project, no proxy in front.
UP = Topology("up", 1, {"APP_ENV": "development", "WEB_CONCURRENCY": "1"})
# compose and Kubernetes: production, two workers of four threads, Redis (deploy/k8s).
CONTAINERS = Topology("containers", 2, {"APP_ENV": "production", "WEB_CONCURRENCY": "2"})


@pytest.fixture(scope="module")
def fake_others() -> Iterator[FakeUpstream]:
    server = FakeUpstream("others")  # users and orders: not what this test is about
    yield server
    server.stop()


def _start(root: Path, topology: Topology, fake: FakeUpstream, redis: RedisProcess) -> Stack:
    env = {
        **topology.env,
        "WEB_THREADS": str(THREADS),
        "CLIENT_HEADER_TIMEOUT": str(BOUND),
        "CLIENT_BODY_TIMEOUT": str(BOUND),
        "USERS_SERVICE_URL": fake.url,
        "ORDERS_SERVICE_URL": fake.url,
        "GATEWAY_RATE_ANON": "100000/min",
        "GATEWAY_CACHE_SECONDS": "0",  # every probe goes through to the product service
    }
    if topology.workers > 1:
        env["REDIS_URL"] = redis.url
    return start_stack(root, ["products", "gateway"], env=env)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND + SLACK + 5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _group_rss(leader: int) -> int:
    """Resident bytes of every process in the gateway's process group (master, workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == leader:  # pgrp
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # rss pages
    return total


class Outcome:
    """How one slow connection ended: seconds after it opened, and what the server sent."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.opened = time.monotonic()
        self.ended: float | None = None
        self.data = b""

    def wait_end(self) -> Outcome:
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(65536):
                self.data += chunk
        self.ended = time.monotonic() - self.opened
        self.sock.close()
        return self


def _open_slow(port: int, n: int, stop: threading.Event) -> dict[str, list[Outcome]]:
    def drip(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            for byte in b"GET /products/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaa":
                sock.send(bytes([byte]))
                if stop.wait(1.0):
                    return

    slow: dict[str, list[Outcome]] = {"idle": [], "drip": [], "body": []}
    for _ in range(n):
        slow["idle"].append(Outcome(_connect(port)))
        dripper = Outcome(_connect(port))
        threading.Thread(target=drip, args=(dripper.sock,), daemon=True).start()
        slow["drip"].append(dripper)
        body = Outcome(_connect(port))
        body.sock.sendall(
            b"POST /products HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        slow["body"].append(body)
    return slow


def _probe(url: str, until: float) -> list[tuple[float, int]]:
    """(seconds, status) of back-to-back GETs until `until`; a failure is status 0."""
    seen = []
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            status, _, _ = http("GET", url, timeout=BOUND + SLACK)
        except OSError:
            status = 0
        seen.append((time.monotonic() - started, status))
    return seen


def _p99(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=100)[98] if len(seconds) > 1 else seconds[0]


@pytest.mark.parametrize("topology", [UP, CONTAINERS], ids=lambda t: t.name)
def test_slow_clients_do_not_stall_the_gateway_and_end_at_their_bounds(
    tmp_path, topology, fake_others, private_redis
):
    stack = _start(tmp_path, topology, fake_others, private_redis)
    try:
        gateway = stack["gateway"]
        product = new_product(stack, stock=5)
        probes = [f"{gateway.url}/health/live", f"{gateway.url}/products/{product['id']}"]
        for url in probes:  # warm: workers, connections, JWKS
            for _ in range(4):
                assert http("GET", url)[0] == 200
        n = 4 * topology.workers * THREADS
        rss_before = _group_rss(gateway.process.pid)
        stop = threading.Event()
        slow = _open_slow(gateway.port, n, stop)
        try:
            time.sleep(0.3)  # every slow connection is in before the probes start
            rss_open = _group_rss(gateway.process.pid)
            until = time.monotonic() + PROBE_WINDOW
            with ThreadPoolExecutor(len(probes)) as pool:
                seen = dict(
                    zip(probes, pool.map(lambda url: _probe(url, until), probes), strict=True)
                )
            everyone = [outcome for kind in slow.values() for outcome in kind]
            with ThreadPoolExecutor(len(everyone)) as pool:
                ended = list(pool.map(Outcome.wait_end, everyone))
        finally:
            stop.set()
    finally:
        stack.stop()

    sockets = 3 * n
    growth = rss_open - rss_before
    figures = {url: (len(s), _p99([t for t, _ in s])) for url, s in seen.items()}
    print(f"\n{topology.name}: {sockets} slow sockets, RSS +{growth // 1024} KiB, probes {figures}")
    for url, answers in seen.items():
        assert len(answers) >= 10, (url, answers)  # served all along, not once at the end
        assert {status for _, status in answers} == {200}, (url, answers)
        assert _p99([t for t, _ in answers]) < 1.0, (url, sorted(answers)[-5:])
    assert growth < sockets * RSS_PER_SOCKET, f"{growth} bytes for {sockets} sockets"
    for outcome in ended:  # each at its bound: not before, and not long after
        assert BOUND - 0.5 < outcome.ended < BOUND + SLACK, (outcome.ended, outcome.data[:100])
    for outcome in slow["idle"]:
        assert outcome.data == b""  # nothing sent: closed without an answer
    for outcome in slow["drip"] + slow["body"]:
        assert outcome.data.startswith(b"HTTP/1.1 408 "), outcome.data[:200]
        assert b"application/problem+json" in outcome.data
