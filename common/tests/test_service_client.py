"""The service client against a real local HTTP server: headers sent, failures bounded."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from common.identity.service_client import ServiceClient, ServiceTimeout, ServiceUnavailable
from common.observability.context import request_id_var, traceparent_var


class Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        Recorder.seen.append(
            {
                "path": self.path,
                "headers": dict(self.headers),
                "body": self.rfile.read(length).decode(),
            }
        )
        if self.path == "/slow":
            time.sleep(1.0)
        payload = json.dumps({"ok": True}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        return None


@pytest.fixture
def server():
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_sends_request_id_traceparent_and_service_token(server):
    client = ServiceClient("products", server, service_token="s3cret")
    rid, tp = (
        request_id_var.set("rid-42"),
        traceparent_var.set("00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
    )
    try:
        response = client.post("/internal/reservations", json={"order_ref": "o1"})
    finally:
        request_id_var.reset(rid)
        traceparent_var.reset(tp)
    assert response.status_code == 201
    [seen] = Recorder.seen
    assert seen["path"] == "/internal/reservations"
    assert json.loads(seen["body"]) == {"order_ref": "o1"}
    assert seen["headers"]["X-Request-ID"] == "rid-42"
    assert seen["headers"]["X-Service-Token"] == "s3cret"
    assert seen["headers"]["traceparent"] == "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


def test_connections_are_reused(server):
    client = ServiceClient("products", server, service_token="t")
    for _ in range(3):
        client.post("/x", json={})
    manager = client.session.adapters["http://"].poolmanager
    [key] = manager.pools.keys()
    pool = manager.pools[key]
    assert pool.num_connections == 1


def test_refused_connection_is_service_unavailable_quickly():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ServiceClient(
        "products", f"http://127.0.0.1:{port}", service_token="t", connect_timeout=10.0
    )
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as error:
        client.post("/x", json={})
    # The behaviour is the bound: a refusal is answered at once, not after the connect
    # timeout (10 s) nor a retry's back-off; 3 s leaves a busy machine room.
    assert time.monotonic() - started < 3.0
    assert error.value.status_code == 503
    assert error.value.wait == 5
    assert error.value.service == "products"


def test_slow_answer_is_a_timeout(server):
    client = ServiceClient("products", server, service_token="t", read_timeout=0.2)
    # /slow answers after 1 s: a ServiceTimeout is the read timeout ending the wait.
    with pytest.raises(ServiceTimeout) as error:
        client.post("/slow", json={})
    assert error.value.status_code == 504


def test_proxy_settings_from_the_environment_are_ignored(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    client = ServiceClient("products", server, service_token="t")
    assert client.post("/x", json={}).status_code == 201
