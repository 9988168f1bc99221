"""Bounds on a slow client that the server's reading does not cover: taking the answer.

Reading a request is bounded where it happens, in the gunicorn worker's poller
(common.runtime.gunicorn_worker): no app thread is given a request before the whole of it is in.
What is left is the answer: a client that does not read it keeps the thread blocked in
send(). `bounded_app` arms CLIENT_BODY_TIMEOUT on sending it; past that both sides of the
socket are shut, which ends the send, and the thread is free.

One watchdog thread per process runs every deadline (arming one costs a heap push).

granian (WEB_SERVER=granian) bounds the headers itself (--http1-header-read-timeout, set
from CLIENT_HEADER_TIMEOUT) but not the body, and its socket is out of Python's reach:
under granian `bounded_app` leaves the request alone, so granian belongs behind a proxy
that buffers requests.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from common.settings.server_env import body_timeout

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Alarm:
    """One deadline: its action runs once, on the watchdog's thread, unless cancelled."""

    __slots__ = ("_done", "_lock", "action", "deadline")

    def __init__(self, deadline: float, action: Callable[[], None]) -> None:
        self.deadline = deadline
        self.action = action
        self._lock = threading.Lock()
        self._done = False

    def cancel(self) -> bool:
        """True when the action will not run (it had not yet)."""
        with self._lock:
            cancelled, self._done = not self._done, True
            return cancelled

    @property
    def pending(self) -> bool:
        return not self._done

    def fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        with contextlib.suppress(Exception):
            self.action()


class Watchdog:
    """One thread per process runs every alarm: arming one costs a heap push, not a thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> Alarm:
        alarm = Alarm(time.monotonic() + seconds, action)
        with self._wake:
            heapq.heappush(self._heap, (alarm.deadline, next(self._order), alarm))
            if self._thread is None or not self._thread.is_alive():
                # Started here, not at import: gunicorn forks its workers after loading.
                self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is alarm:
                self._wake.notify()
        return alarm

    def _next_due(self) -> Alarm:
        with self._wake:
            while True:
                while self._heap and not self._heap[0][2].pending:
                    heapq.heappop(self._heap)
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                self._wake.wait(self._heap[0][0] - now if self._heap else None)

    def _run(self) -> None:
        while True:
            self._next_due().fire()


WATCHDOG = Watchdog()


def problem_bytes(status: int, title: str, slug: str, detail: str) -> bytes:
    """A problem JSON body, for answers the server writes before any app has the request."""
    from common.http.problems import problem_type

    return json.dumps(
        {"type": problem_type(slug), "title": title, "status": status, "detail": detail}
    ).encode()


def shut_both(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _BoundedAnswer:
    """The app's answer under gunicorn: a client that does not take it within the bound is
    cut off (both socket sides shut), which ends the thread's blocked send."""

    def __init__(self, answer: Iterable[bytes], sock: socket.socket, seconds: float) -> None:
        self.answer = answer
        self.alarm = WATCHDOG.arm(seconds, lambda: shut_both(sock))

    def __iter__(self) -> Iterator[bytes]:
        yield from self.answer

    def close(self) -> None:
        self.alarm.cancel()
        if hasattr(self.answer, "close"):
            self.answer.close()


def bounded_app(app: WSGIApp) -> WSGIApp:
    """`app` with CLIENT_BODY_TIMEOUT on sending its answer (gunicorn)."""
    seconds = body_timeout()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        answer = app(environ, start_response)
        if sock is None:
            return answer  # granian: see the module's docstring
        file_wrapper = environ.get("wsgi.file_wrapper")
        if file_wrapper and isinstance(answer, file_wrapper):
            return cast(Iterable[bytes], answer)  # a file gunicorn sends itself
        return _BoundedAnswer(answer, sock, seconds)

    return application
