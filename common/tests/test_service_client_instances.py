"""A service calling another over several instances, as the gateway does: balancing,
ejection of a failing instance, one retry only where the call may be sent twice, and
open breakers answering at once. Real local HTTP servers; a dead port for a refusal."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from common.identity.service_client import ServiceClient, ServiceTimeout, ServiceUnavailable


class Instance:
    """One instance of a service: answers 201 at once, or after `delay` seconds."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.hits.append(self.path)
                time.sleep(owner.delay)
                payload = json.dumps({"ok": True}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def two():
    instances = [Instance(), Instance()]
    yield instances
    for instance in instances:
        instance.stop()


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def client(urls: str, **options: float) -> ServiceClient:
    settings = {"connect_timeout": 1.0, "read_timeout": 0.3, "failures": 2, **options}
    return ServiceClient("products", urls, service_token="t", **settings)


def test_calls_take_turns_over_every_instance_the_variable_names(two):
    caller = client(",".join(i.url for i in two))
    for _ in range(4):
        assert caller.post("/internal/reservations", json={}).status_code == 201

    assert [len(i.hits) for i in two] == [2, 2]


def test_a_refused_instance_costs_no_call_and_is_ejected_after_the_threshold(two):
    """Nothing was sent to a refused instance, so even a POST goes to another one; after
    `failures` refusals it is out and takes no more attempts."""
    live = two[0]
    caller = client(f"{dead_url()},{live.url}")
    answers = [caller.post("/x", json={}).status_code for _ in range(8)]

    assert answers == [201] * 8
    assert len(live.hits) == 8
    [dead] = [i for i in caller.instances.pool.members() if i.url != live.url]
    assert dead.ejected
    assert dead.consecutive_failures == 2  # the threshold, then no more tries


def test_a_post_that_timed_out_is_not_sent_again_unless_it_carries_its_own_key(two):
    slow, fast = sorted(two, key=lambda i: i.url)  # round robin starts with the first
    slow.delay = 1.0
    caller = client(f"{slow.url},{fast.url}", failures=5)

    with pytest.raises(ServiceTimeout):
        caller.post("/internal/reservations", json={"order_ref": "o-1"})
    assert (len(slow.hits), len(fast.hits)) == (1, 0)  # the turn fell on the slow one

    caller.post("/warm", json={})  # the fast one's turn
    fast.hits.clear()
    answer = caller.post("/internal/reservations", json={"order_ref": "o-2"}, idempotent=True)
    assert answer.status_code == 201
    assert (len(slow.hits), fast.hits) == (2, ["/internal/reservations"])  # resent there


def test_once_a_frozen_instance_is_ejected_calls_go_to_the_other_without_waiting(two):
    frozen, healthy = sorted(two, key=lambda i: i.url)
    frozen.delay = 2.0
    caller = client(f"{frozen.url},{healthy.url}")
    for _ in range(4):  # two of them time out at the frozen one (the threshold), resent
        caller.post("/internal/reservations", json={}, idempotent=True)

    timings = []
    for _ in range(6):
        started = time.perf_counter()
        assert caller.post("/internal/reservations", json={}).status_code == 201
        timings.append(time.perf_counter() - started)
    # Every call after the threshold is the healthy instance's: far under the read timeout.
    assert max(timings) < 0.3, timings
    assert len(frozen.hits) == 2


def test_with_every_breaker_open_a_call_fails_at_once_with_retry_after():
    caller = client(f"{dead_url()},{dead_url()}", connect_timeout=5.0)
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            caller.post("/x", json={})

    started = time.perf_counter()
    with pytest.raises(ServiceUnavailable) as error:
        caller.post("/x", json={})
    assert time.perf_counter() - started < 0.5
    assert error.value.wait >= 1
    assert error.value.service == "products"
