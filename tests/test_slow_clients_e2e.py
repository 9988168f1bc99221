"""Slow and broken clients against the real servers (gunicorn with common.runtime.gunicorn_worker):
a truncated body, headers sent byte by byte, a client that never reads its answer. Each ends
within its bound, and while they hang the server goes on serving: more such connections
are open than the server has threads. Requests read in the poller keep HTTP/1.1's framing:
pipelining, keep-alive, 100-continue, chunked bodies, 413 before the body. granian, when
chosen, bounds the headers itself. (tests/test_slow_clients_flood_e2e.py: many at once.)"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devtools.harness import Stack, http, start_stack
from gateway_project.tests.fake_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

BOUND = 2  # CLIENT_HEADER_TIMEOUT and CLIENT_BODY_TIMEOUT of these stacks, seconds
SLACK = 4.0  # what a shared CI machine may add to a bound
THREADS = 2  # app threads per stack
STALLED = THREADS  # as many stalled connections as threads: each holds one until its bound
BOUNDS = {
    "CLIENT_HEADER_TIMEOUT": str(BOUND),
    "CLIENT_BODY_TIMEOUT": str(BOUND),
    "WEB_CONCURRENCY": "1",
    "WEB_THREADS": str(THREADS),
    "GUNICORN_THREADS": str(THREADS),
    "GATEWAY_RATE_AUTH": "1000/min",
    "GATEWAY_RATE_ANON": "1000/min",
    "USERS_RATE_LOGIN": "1000/min",
}


@pytest.fixture(scope="module")
def fake_service() -> Iterator[FakeUpstream]:
    server = FakeUpstream("fake")
    yield server
    server.stop()


def _gateway(root: Path, upstream: FakeUpstream, **env: str) -> Stack:
    urls = {f"{name}_SERVICE_URL": upstream.url for name in ("USERS", "PRODUCTS", "ORDERS")}
    return start_stack(root, ["gateway"], env={**urls, **BOUNDS, **env})


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_service) -> Iterator[Stack]:
    """The gateway under granian, every service a fake."""
    stack = _gateway(tmp_path_factory.mktemp("slow-gateway"), fake_service)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def users(tmp_path_factory) -> Iterator[Stack]:
    """The user service under gunicorn (gthread)."""
    stack = start_stack(tmp_path_factory.mktemp("slow-users"), ["users"], env=BOUNDS)
    yield stack
    stack.stop()


@pytest.fixture
def fake(fake_service: FakeUpstream) -> FakeUpstream:
    fake_service.received.clear()
    fake_service.responder = fake_service.echo
    return fake_service


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=BOUND + SLACK + 5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _truncated(url: str, path: str, kind: str) -> socket.socket:
    """A POST whose body stops part way: Content-Length larger than sent, or mid-chunk."""
    sock = _connect(url)
    if kind == "length":
        head = "Content-Length: 100\r\n\r\n"
        part = b'{"username": "x'
    else:
        head = "Transfer-Encoding: chunked\r\n\r\n"
        part = b'40\r\n{"username": "x'
    start = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    sock.sendall(f"{start}{head}".encode() + part)
    return sock


def _content_length(head: bytes) -> int | None:
    """An answer head's Content-Length, None without one."""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return None


def _answer(sock: socket.socket) -> tuple[float, bytes]:
    """(seconds until the server answered or closed, what it sent): reads one response."""
    started = time.monotonic()
    data = b""
    with contextlib.suppress(OSError):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = _content_length(head)
                if length is not None and len(body) >= length:
                    break
    sock.close()
    return time.monotonic() - started, data


def _assert_408(data: bytes) -> None:
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), data[:200]
    assert b"application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["status"] == 408
    assert problem["type"].endswith("/request-timeout")


def _served_meanwhile(url: str) -> float:
    """Seconds a plain GET takes while the stalled connections are open."""
    started = time.monotonic()
    status, _, _ = http("GET", url, timeout=BOUND + SLACK)
    assert status == 200
    return time.monotonic() - started


def _stalled_then_served(open_one, probe_url: str) -> list[tuple[float, bytes]]:
    """Open STALLED connections, check the server still serves, then collect each answer."""
    opened = time.monotonic()
    sockets = [open_one(index) for index in range(STALLED)]
    time.sleep(0.3)  # every connection reaches a thread before the probe
    # Every thread is taken: the probe is served when the first bound frees one.
    assert _served_meanwhile(probe_url) < BOUND + SLACK
    with ThreadPoolExecutor(len(sockets)) as pool:
        answers = list(pool.map(_answer, sockets))
    waited = time.monotonic() - opened
    assert waited < BOUND + SLACK, f"the stalled connections took {waited:.1f}s"
    return answers


def test_truncated_bodies_at_the_gateway_are_408_and_proxying_goes_on(gateway, fake):
    url = gateway["gateway"].url
    kinds = ("length", "chunked")

    answers = _stalled_then_served(
        lambda index: _truncated(url, "/users/register", kinds[index % 2]),
        f"{url}/products/1",
    )

    for _, data in answers:
        _assert_408(data)
    # No truncated body went upstream; the probe did (health checks may arrive too).
    assert [(r.method, r.path) for r in fake.received if r.path.startswith("/products")] == [
        ("GET", "/products/1")
    ]
    assert not [r for r in fake.received if r.method != "GET"]


def _trickled_headers_end_within_the_bound(url: str, path: str) -> None:
    """STALLED clients send their headers a byte every 0.2 s; a GET is served meanwhile."""
    stop = threading.Event()

    def trickle(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
            while not stop.wait(0.2):
                sock.send(b"a")

    def open_one(index: int) -> socket.socket:
        sock = _connect(url)
        threading.Thread(target=trickle, args=(sock,), daemon=True).start()
        return sock

    try:
        answers = _stalled_then_served(open_one, f"{url}{path}")
    finally:
        stop.set()
    for _, data in answers:
        assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:200]


def test_headers_sent_byte_by_byte_to_the_gateway_end_within_the_bound(gateway, fake):
    _trickled_headers_end_within_the_bound(gateway["gateway"].url, "/products/1")


def test_clients_that_never_read_the_answer_are_cut_off_within_the_bound(gateway, fake):
    url = gateway["gateway"].url
    big = b"x" * (16 * 1024 * 1024)
    fake.responder = lambda received: (
        Reply(200, big, [("Content-Type", "application/octet-stream")])
        if received.path.startswith("/products/big")
        else fake.echo(received)
    )
    opened = time.monotonic()
    sockets = []
    for _ in range(STALLED):
        sock = _connect(url)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /products/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sockets.append(sock)
    try:
        time.sleep(0.5)
        # Every thread is writing an answer nobody takes: the probe is served once the
        # bound has cut them off.
        assert _served_meanwhile(f"{url}/products/1") < BOUND + SLACK
        assert time.monotonic() - opened < BOUND + SLACK + 1
    finally:
        for sock in sockets:
            sock.close()


def test_truncated_bodies_at_a_service_are_408_and_it_goes_on_serving(users):
    """Content-Length only: Django reads no chunked body (the service answers 400 at once)."""
    url = users["users"].url

    answers = _stalled_then_served(
        lambda index: _truncated(url, "/users/login", "length"), f"{url}/health"
    )

    for _, data in answers:
        _assert_408(data)


def test_headers_sent_byte_by_byte_to_a_service_end_within_the_bound(users):
    _trickled_headers_end_within_the_bound(users["users"].url, "/health")


def test_granian_bounds_slow_headers_itself(tmp_path, fake):
    stack = _gateway(tmp_path, fake, WEB_SERVER="granian")
    try:
        sock = _connect(stack["gateway"].url)
        sock.sendall(b"GET /products/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        waited, data = _answer(sock)
        assert waited < BOUND + SLACK
        assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:200]
    finally:
        stack.stop()


def _responses(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """(head, body) of the next `count` answers on a connection (Content-Length framed)."""
    data, answers = b"", []
    while len(answers) < count:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = _content_length(head)
            assert length is not None, head
            if len(rest) >= length:
                answers.append((head, rest[:length]))
                data = rest[length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(answers)} answers: {data[:200]!r}"
        data += chunk
    return answers


def test_pipelined_requests_are_answered_in_order_and_the_connection_is_kept(gateway, fake):
    sock = _connect(gateway["gateway"].url)
    try:
        sock.sendall(
            b"GET /products/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            b"GET /products/2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /prod"
        )
        time.sleep(0.2)  # the third request arrives in two parts
        sock.sendall(b"ucts/3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answers = _responses(sock, 3)
        time.sleep(0.2)  # kept alive: a later request on the same connection is served
        sock.sendall(b"GET /products/4 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answers += _responses(sock, 1)
    finally:
        sock.close()

    assert [head.split(b"\r\n")[0] for head, _ in answers] == [b"HTTP/1.1 200 OK"] * 4
    assert [json.loads(body)["path"] for _, body in answers] == [
        f"/products/{n}" for n in (1, 2, 3, 4)
    ]


def test_expect_100_continue_is_answered_once_and_a_chunked_body_reaches_the_service(gateway, fake):
    sock = _connect(gateway["gateway"].url)
    try:
        sock.sendall(
            b"POST /users/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        interim = sock.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b'c\r\n{"username":\r\n6\r\n "ann"\r\n1\r\n}\r\n0\r\n\r\n')
        ((head, _),) = _responses(sock, 1)
    finally:
        sock.close()

    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"100 Continue" not in head
    (posted,) = [r for r in fake.received if r.method == "POST"]
    assert json.loads(posted.body) == {"username": "ann"}


def test_a_body_over_the_limit_is_413_before_any_of_it_is_sent(gateway, fake):
    sock = _connect(gateway["gateway"].url)
    try:
        sock.sendall(
            b"POST /users/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Content-Length: 2000000\r\n\r\n"
        )
        waited, data = _answer(sock)
    finally:
        sock.close()

    assert waited < SLACK
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), data[:200]
    assert json.loads(body)["status"] == 413
    assert b"100 Continue" not in data
    assert not [r for r in fake.received if r.method == "POST"]
