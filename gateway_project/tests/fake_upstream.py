"""A tiny real HTTP server standing in for a service: records requests, answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes
    peer: tuple[str, int] = ("", 0)  # the gateway's end of the connection


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    hang_up: bool = False  # close the connection after answering, without saying so
    drop: bool = False  # close the connection without answering at all


Responder = Callable[[Received], Reply]


class FakeUpstream:
    """Answers every request with `responder(received)`; default: JSON echo of the call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[Received] = []
        self.responder: Responder = self.echo
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    header_list=list(self.headers.items()),
                    body=body,
                    peer=self.client_address,
                )
                upstream.received.append(received)
                reply = upstream.responder(received)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)
                if reply.hang_up:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            # socketserver's default listen backlog is 5: a burst of new connections from
            # the gateway's threads would overflow it, and a dropped SYN is retried only
            # after 1 s, past the gateway's connect timeout (a false 503).
            request_queue_size = 128

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up (timeout tests) is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def echo(self, received: Received) -> Reply:
        body = json.dumps(
            {"service": self.name, "method": received.method, "path": received.path}
        ).encode()
        return Reply(200, body, [("Content-Type", "application/json")])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
