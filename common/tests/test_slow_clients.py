"""The watchdog and the bound on taking an answer, over a real socket pair."""

from __future__ import annotations

import socket
import time

from common.runtime.slow_clients import WATCHDOG, bounded_app
from common.testing import wait_until


def test_an_alarm_fires_once_at_its_deadline_and_not_when_cancelled():
    fired: list[float] = []
    started = time.monotonic()
    WATCHDOG.arm(0.2, lambda: fired.append(time.monotonic() - started))
    cancelled = WATCHDOG.arm(0.1, lambda: fired.append(-1.0))

    assert cancelled.cancel() is True
    wait_until(lambda: fired, timeout=5)
    # Alarms fire in deadline order: the cancelled one (0.1 s) would be in by now.
    assert len(fired) == 1
    # At its deadline: never before it; the upper bound is generous for a busy machine.
    assert 0.15 < fired[0] < 2.0


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
    # The behaviour is the bound: cut off at CLIENT_BODY_TIMEOUT (0.3 s), not blocked on a
    # client that never reads (that would hang here); 2 s leaves a busy machine room.
    assert time.monotonic() - started < 2
