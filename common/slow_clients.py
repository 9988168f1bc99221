"""Bounds on how long a client may take over its request, so a slow one cannot hold a thread.

gunicorn 27's gthread worker waits 5 s for a request's first byte, then reads headers and
body with a blocking recv() and no timeout: a client that stopped mid-body, or sent its
headers a byte at a time, held a thread until it went away, and a handful of them stopped
all serving (slowloris). Every project now runs under gunicorn with these bounds:

- Headers: common.gunicorn_worker arms CLIENT_HEADER_TIMEOUT when a thread starts reading a
  request and disarms it once the headers are in; past it the client is told 408.
- Body: `bounded_app` gives wsgi.input a deadline, CLIENT_BODY_TIMEOUT after the app first
  sees the request. Past it a read raises BodyTimeout and the answer is 408 problem JSON
  with `Connection: close`.
- Answer: the same bound for a client that does not take it (gunicorn's thread writes it).

gunicorn hands the app its socket, and one watchdog thread enforces every deadline: it shuts
the socket's reading side (`shutdown(SHUT_RD)` ends a blocked recv) or, for a stuck answer,
both sides.

granian (WEB_SERVER=granian) bounds the headers itself (--http1-header-read-timeout, set
from CLIENT_HEADER_TIMEOUT) but not the body, and its body cannot be bounded from Python:
the socket is out of reach, and a read moved to a helper thread stalls granian's runtime
(tried: one stalled upload then blocked every other request). Under granian this module
leaves the request alone, so granian belongs behind a proxy that buffers request bodies.
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
from typing import Any

from django.core.exceptions import BadRequest

from common.server_env import body_timeout

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class BodyTimeout(BadRequest):
    """The body did not arrive in time. A BadRequest, so Django answers it without a
    traceback whoever reads the body; bounded_app turns that answer into the 408."""

    def __init__(self) -> None:
        super().__init__("The request body did not arrive in time.")


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


def timeout_problem(detail: str) -> bytes:
    from common.problems import problem_type

    return json.dumps(
        {
            "type": problem_type("request-timeout"),
            "title": "Request Timeout",
            "status": 408,
            "detail": detail,
        }
    ).encode()


def shut_reading(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)


def shut_both(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _DeadlineInput:
    """wsgi.input with a deadline; subclasses say how a blocked read is ended."""

    def __init__(self, inner: Any, seconds: float, length: int | None) -> None:
        self.inner = inner
        self.deadline = time.monotonic() + seconds
        self.left = length  # bytes still to come, None when chunked
        self.expired = False

    def _call(self, method: Callable, *args: Any) -> Any:
        raise NotImplementedError

    def _read(self, method: Callable, *args: Any) -> Any:
        if self.expired:
            raise BodyTimeout()
        data = self._call(method, *args)
        if isinstance(data, bytes):
            if self.left is not None:
                self.left -= len(data)
            if not data or (self.left is not None and self.left <= 0):
                self.finish()
        return data

    def read(self, size: int | None = None) -> bytes:
        data = self._read(self.inner.read, size)
        if size is None or size < 0 or len(data) < size:
            self.finish()  # gunicorn's read returns short only at the body's end
        return data

    def readline(self, *args: Any) -> bytes:
        return self._read(self.inner.readline, *args)

    def readlines(self, *args: Any) -> list[bytes]:
        lines = self._read(self.inner.readlines, *args)
        self.finish()
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def finish(self) -> None:
        """The body is in, or the app is done with it: no deadline any more."""


class _SocketDeadlineInput(_DeadlineInput):
    """gunicorn: read as usual; at the deadline the watchdog shuts the socket's reading side."""

    def __init__(self, inner: Any, seconds: float, length: int | None, sock: socket.socket):
        super().__init__(inner, seconds, length)
        self.sock = sock
        self.alarm = WATCHDOG.arm(seconds, self._expire)

    def _expire(self) -> None:
        self.expired = True
        shut_reading(self.sock)

    def _call(self, method: Callable, *args: Any) -> Any:
        try:
            data = method(*args)
        except Exception:
            if self.expired:
                raise BodyTimeout() from None
            raise
        if self.expired:  # a short read: the watchdog ended it
            raise BodyTimeout()
        return data

    def finish(self) -> None:
        self.alarm.cancel()


def _body_length(meta: dict) -> int | bool | None:
    """The declared length, None for a chunked body, False when there is no body."""
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length if length > 0 else False


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


def _request_timeout(start_response: Callable) -> list[bytes]:
    body = timeout_problem("The request body did not arrive in time.")
    start_response(
        "408 Request Timeout",
        [
            ("Content-Type", "application/problem+json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    return [body]


def bounded_app(app: WSGIApp) -> WSGIApp:
    """`app` with CLIENT_BODY_TIMEOUT on reading the body and (gunicorn) sending the answer."""
    seconds = body_timeout()

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        length = _body_length(environ)
        body: _DeadlineInput | None = None
        if sock is None:
            return app(environ, start_response)  # granian: see the module's docstring
        if length is not False:
            body = _SocketDeadlineInput(environ["wsgi.input"], seconds, length, sock)
            environ["wsgi.input"] = body
        started: list = []

        def deferred(status: str, headers: list, exc_info: Any = None) -> Callable:
            started[:] = [status, headers, exc_info]
            return lambda data: None  # Django never calls write()

        answer = app(environ, deferred)
        if body is not None:
            body.finish()
            if body.expired:
                if hasattr(answer, "close"):
                    answer.close()
                return _request_timeout(start_response)
        start_response(*started)
        file_wrapper = environ.get("wsgi.file_wrapper")
        if file_wrapper and isinstance(answer, file_wrapper):
            return answer  # a file gunicorn sends itself
        return _BoundedAnswer(answer, sock, seconds)

    return application
