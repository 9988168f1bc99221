"""gunicorn's gthread worker with a bound on the time a client takes to send its headers.

gthread waits 5 s for a request's first byte off-thread, then reads the rest of the headers
on an app thread with a blocking recv() and no timeout: a client sending them a byte at a
time kept the thread. Here the thread's reading is armed with CLIENT_HEADER_TIMEOUT; when it
passes, the client is told 408 and the socket's reading side is shut, which ends the recv.
(The body and the answer are bounded by common.slow_clients.bounded_app.)
"""

from __future__ import annotations

import contextlib
import socket

from gunicorn.workers.gthread import ThreadWorker

from common.server_env import header_timeout
from common.slow_clients import WATCHDOG, shut_reading, timeout_problem


def _headers_too_slow(sock: socket.socket) -> None:
    body = timeout_problem("The request headers did not arrive in time.")
    head = (
        "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        sock.send(head.encode() + body, socket.MSG_DONTWAIT)
    shut_reading(sock)


class BoundedThreadWorker(ThreadWorker):
    seconds = header_timeout()

    def handle(self, conn):
        conn.header_alarm = WATCHDOG.arm(self.seconds, lambda: _headers_too_slow(conn.sock))
        try:
            return super().handle(conn)
        finally:
            conn.header_alarm.cancel()

    def handle_request(self, req, conn):
        conn.header_alarm.cancel()  # the headers are in
        return super().handle_request(req, conn)
