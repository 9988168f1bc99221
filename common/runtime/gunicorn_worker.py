"""gunicorn's gthread worker, reading each request in its poller before an app thread takes it.

gthread hands an accepted connection to an app thread, which waits up to 5 s for a first
byte and then reads the headers and body with blocking recv() and no timeout: a few
clients that connect and send nothing, send their headers a byte a second, or announce a
body and stall held every thread, and the server stopped answering anyone (measured: 4
idle connections took a 1x4 gateway's /health/live from 8 ms to 4.4 s).

Here no thread sees a connection before its whole request is in. The worker's main loop,
which already polls listening and kept-alive sockets, reads every connection that is
receiving a request without blocking, into that connection's buffer, and
`common.runtime.request_frame` says when the request is complete; then the buffer is handed to
gunicorn's parser and the request to an app thread, which finds every byte it reads
already there. The bounds, all enforced in the loop (swept four times a second):

- the head: CLIENT_HEADER_TIMEOUT from the connection (a kept-alive one: from the next
  request's first byte; before it, gunicorn's keep-alive timeout); past it, 408 problem
  JSON when the client had sent something, else the connection is just closed;
- the head's size: 64 KiB (431);
- the body: CLIENT_BODY_TIMEOUT from the head's end (408), and the project's body limit
  (413, from Content-Length before a byte of the body is read, or as chunks add up);
  `Expect: 100-continue` is answered here, once, when the head is in;
- memory: WEB_CONNECTIONS connections per worker (gunicorn stops accepting past them),
  each buffering at most 64 KiB + the body limit.

The answer's bound (a client that does not read it) is common.runtime.slow_clients.bounded_app's.
TLS is refused (check_config): it is terminated in front of these servers.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from concurrent.futures import Future
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

from common.runtime.request_frame import Refusal, RequestFrame
from common.runtime.slow_clients import problem_bytes
from common.settings.server_env import body_timeout, header_timeout, max_body_size

SWEEP_SECONDS = 0.25  # how often the loop looks for connections past their deadline
LINGER_SECONDS = 2.0  # how long a refused request's remaining bytes are read and dropped
READ_SIZE = 64 * 1024
HEADERS_LATE = "The request headers did not arrive in time."
BODY_LATE = "The request body did not arrive in time."


def _answer(status: int, reason: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class Inbox:
    """What a connection has sent of its request so far, and when it must be in."""

    __slots__ = ("continued", "data", "deadline", "frame", "registered")

    def __init__(self, data: bytes, deadline: float, max_body: int) -> None:
        self.data = bytearray(data)
        self.frame = RequestFrame(max_body)
        self.deadline = deadline
        self.continued = False  # 100 Continue sent
        self.registered = False  # with the poller


class BufferingThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gthread with every request read in full, off-thread, within its bounds."""

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl:
            raise RuntimeError(
                "common.runtime.gunicorn_worker reads requests off-thread and does not speak TLS: "
                "terminate TLS in front of the server"
            )

    def init_process(self) -> None:
        self.header_seconds = header_timeout()
        self.body_seconds = body_timeout()
        self.max_body = max_body_size()
        self.inboxes: dict[TConn, Inbox] = {}  # connections whose request is coming in
        self.lingering: dict[TConn, float] = {}  # refused: read and dropped until then
        self.next_sweep = 0.0
        super().init_process()

    # Where connections come from: accepted, kept alive, or with a pipelined request

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        self.receive(conn, b"", time.monotonic() + self.header_seconds)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection's next request begins: its headers' time starts now."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self.receive(conn, b"", time.monotonic() + self.header_seconds)

    def finish_request(self, conn: TConn, fs: Future[bool]) -> None:
        """A request was answered. Bytes already read past it (a pipelined request) are the
        start of the next one, framed like any other; the rest is gthread's."""
        rest = getattr(conn, "rest", b"")
        if conn.parser is not None:  # gunicorn's parser holds nothing read past a request
            rest = conn.parser.unreader.take_buffered() + rest
        if rest and self.alive and not fs.cancelled() and fs.exception() is None and fs.result():
            conn.rest = b""
            conn.sock.setblocking(False)
            self.receive(conn, rest, time.monotonic() + self.header_seconds)
            return
        super().finish_request(conn, fs)

    # Reading in the loop

    def receive(self, conn: TConn, data: bytes, deadline: float) -> None:
        """Read the connection's request in the loop, starting with `data`. The socket is
        tried at once (a client usually sends its request with its connection, and a
        kept-alive one is readable): most requests never wait in the poller."""
        inbox = Inbox(data, deadline, self.max_body)
        self.inboxes[conn] = inbox
        if data and self.framed(conn, inbox):
            return
        if self.pull(conn, inbox):
            return
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_bytes, conn))
        inbox.registered = True

    def on_bytes(self, conn: TConn, client: socket.socket) -> None:
        self.pull(conn, self.inboxes[conn])

    def pull(self, conn: TConn, inbox: Inbox) -> bool:
        """Read what has arrived; whether the connection has left the loop's reading."""
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:  # the client went away
            self.leave(conn, inbox)
            self.drop(conn)
            return True
        inbox.data += data
        return self.framed(conn, inbox)

    def framed(self, conn: TConn, inbox: Inbox) -> bool:
        """Whether the request is complete (then handed to a thread) or refused."""
        had_head = inbox.frame.head_end is not None
        end = inbox.frame.feed(inbox.data)
        if end is None:
            if not had_head and inbox.frame.head_end is not None:
                inbox.deadline = time.monotonic() + self.body_seconds
                if inbox.frame.expects_continue and not inbox.continued:
                    inbox.continued = True
                    self.send_now(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return False
        self.leave(conn, inbox)
        if isinstance(end, Refusal):
            self.refuse(conn, end)
            return True
        conn.request_bytes = bytes(inbox.data[:end])
        conn.rest = bytes(inbox.data[end:])
        conn.data_ready = True
        self.enqueue_req(conn)
        return True

    def leave(self, conn: TConn, inbox: Inbox) -> None:
        """The connection's request is no longer read in the loop."""
        self.inboxes.pop(conn, None)
        if inbox.registered:
            inbox.registered = False
            self.poller.unregister(conn.sock)

    # On an app thread: the request is all there

    def handle(self, conn: TConn) -> Any:
        data = conn.__dict__.pop("request_bytes", None)
        if data is not None:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(data)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: TConn) -> Any:
        req._expected_100_continue = False  # the body is in: answered in the loop if asked
        return super().handle_request(req, conn)

    # Ending connections

    def send_now(self, conn: TConn, data: bytes) -> None:
        """Best effort: a fresh socket's send buffer takes a short answer whole."""
        with contextlib.suppress(OSError):
            conn.sock.send(data, socket.MSG_DONTWAIT)

    def drop(self, conn: TConn) -> None:
        """Close a connection the loop holds (not reading any more)."""
        self.lingering.pop(conn, None)
        self.nr_conns -= 1
        conn.close()

    def refuse(self, conn: TConn, refusal: Refusal) -> None:
        """Answer now, then read and drop what the client still sends for a moment, so
        the answer is not lost to a reset from closing on unread bytes."""
        body = problem_bytes(refusal.status, refusal.reason, refusal.problem, refusal.detail)
        self.send_now(conn, _answer(refusal.status, refusal.reason, body))
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_WR)
        self.lingering[conn] = time.monotonic() + LINGER_SECONDS
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_linger, conn))

    def on_linger(self, conn: TConn, client: socket.socket) -> None:
        try:
            data = client.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.poller.unregister(client)
            self.drop(conn)

    def late(self, conn: TConn, inbox: Inbox) -> None:
        """Past its deadline: 408 if the client had begun its request, else just closed."""
        self.leave(conn, inbox)
        if inbox.data.strip(b"\r\n"):
            detail = HEADERS_LATE if inbox.frame.head_end is None else BODY_LATE
            body = problem_bytes(408, "Request Timeout", "request-timeout", detail)
            self.send_now(conn, _answer(408, "Request Timeout", body))
        self.drop(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_SECONDS
        for conn, inbox in list(self.inboxes.items()):
            # A stopping worker does not wait for requests that have not begun.
            if inbox.deadline <= now or (not self.alive and not inbox.data):
                self.late(conn, inbox)
        for conn, until in list(self.lingering.items()):
            if until <= now:
                with contextlib.suppress(KeyError, ValueError):
                    self.poller.unregister(conn.sock)
                self.drop(conn)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self.inboxes or self.lingering:
            timeout = min(timeout, SWEEP_SECONDS)
        super().wait_for_and_dispatch_events(timeout)
