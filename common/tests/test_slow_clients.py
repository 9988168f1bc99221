"""The deadlines on slow clients, over a real socket pair (gunicorn's socket and body)."""

from __future__ import annotations

import json
import socket
import threading
import time

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from common.slow_clients import WATCHDOG, bounded_app


def test_an_alarm_fires_once_at_its_deadline_and_not_when_cancelled():
    fired: list[float] = []
    started = time.monotonic()
    WATCHDOG.arm(0.2, lambda: fired.append(time.monotonic() - started))
    cancelled = WATCHDOG.arm(0.1, lambda: fired.append(-1.0))

    assert cancelled.cancel() is True
    time.sleep(0.5)
    assert len(fired) == 1
    assert 0.15 < fired[0] < 0.45


def _environ(server: socket.socket, length: int) -> dict:
    body = Body(LengthReader(SocketUnreader(server), length))
    return {
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(length),
        "wsgi.input": body,
        "gunicorn.socket": server,
    }


def _reading_app(environ, start_response):
    try:
        data = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    except Exception as error:  # what Django would turn into a 400
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [type(error).__name__.encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [data]


def test_a_body_that_stops_is_408_at_the_deadline(monkeypatch):
    monkeypatch.setenv("CLIENT_BODY_TIMEOUT", "0.3")
    client, server = socket.socketpair()
    client.sendall(b"part")
    answered: list = []
    started = time.monotonic()

    body = b"".join(bounded_app(_reading_app)(_environ(server, 100), lambda *a: answered.append(a)))

    assert 0.25 < time.monotonic() - started < 2
    assert answered[0][0] == "408 Request Timeout"
    assert ("Connection", "close") in answered[0][1]
    assert json.loads(body)["type"].endswith("/request-timeout")


def test_a_body_that_arrives_in_time_is_passed_through(monkeypatch):
    monkeypatch.setenv("CLIENT_BODY_TIMEOUT", "0.5")
    client, server = socket.socketpair()
    threading.Timer(0.1, lambda: client.sendall(b"rest")).start()
    client.sendall(b"part")
    answered: list = []

    answer = bounded_app(_reading_app)(_environ(server, 8), lambda *a: answered.append(a))
    body = b"".join(answer)
    answer.close()

    assert answered[0][0] == "200 OK"
    assert body == b"partrest"
    time.sleep(0.6)  # past the deadline: the socket was not shut, the alarm was disarmed
    client.sendall(b"next")
    assert server.recv(10) == b"next"


def test_an_answer_nobody_takes_is_cut_off_at_the_deadline(monkeypatch):
    monkeypatch.setenv("CLIENT_BODY_TIMEOUT", "0.3")
    client, server = socket.socketpair()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def big_app(environ, start_response):
        start_response("200 OK", [])
        return [b"x" * (8 * 1024 * 1024)]

    environ = {"REQUEST_METHOD": "GET", "gunicorn.socket": server}
    started = time.monotonic()
    answer = bounded_app(big_app)(environ, lambda *a: None)
    try:
        for item in answer:
            server.sendall(item)  # what gunicorn's thread does
        raise AssertionError("the client took 8 MiB it never read")
    except OSError:
        pass
    finally:
        answer.close()
    assert time.monotonic() - started < 2


def test_a_chunked_body_read_to_its_end_is_no_longer_under_the_deadline(monkeypatch):
    from gunicorn.http.body import ChunkedReader

    monkeypatch.setenv("CLIENT_BODY_TIMEOUT", "0.3")
    client, server = socket.socketpair()
    client.sendall(b"4\r\nbody\r\n0\r\n\r\n")
    environ = {
        "REQUEST_METHOD": "POST",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": Body(ChunkedReader(None, SocketUnreader(server))),
        "gunicorn.socket": server,
    }
    answered: list = []

    def slow_app(environ, start_response):
        body = environ["wsgi.input"].read(1000)
        time.sleep(0.5)  # past the deadline, the body long read (an upstream call)
        start_response("200 OK", [])
        return [body]

    answer = bounded_app(slow_app)(environ, lambda *a: answered.append(a))

    assert answered[0][0] == "200 OK"
    assert b"".join(answer) == b"body"
