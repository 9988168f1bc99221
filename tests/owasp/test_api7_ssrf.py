"""API7:2023 Server Side Request Forgery through JWKS: a token cannot make a project fetch
keys from a URL it names (jku, x5u), nor make it fetch the configured JWKS at will.

(Self-registration URLs are the other SSRF surface; their tests live with the registry.)
"""

from __future__ import annotations

import os
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.harness import free_port, start_stack

pytestmark = pytest.mark.e2e


class Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        Recorder.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"keys": []}')

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def listener():
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def attacker_token(url: str, kid: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"token_type": "access", "user_id": 1, "is_staff": True, "iss": "users",
              "aud": "api", "iat": now, "exp": now + 300, "jti": "x"}  # fmt: skip
    headers = {"kid": kid, "jku": f"{url}/jwks.json", "x5u": f"{url}/cert.pem"}
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def test_a_token_naming_its_own_key_url_is_refused_and_nothing_is_fetched(api_client, listener):
    token = attacker_token(listener, kid="attacker-kid")

    for service, path in (("gateway", "/orders"), ("orders", "/orders"), ("products", "/products")):
        method = "POST" if service == "products" else "GET"
        status, _, _ = api_client.call(method, path, {}, token=token, service=service)
        assert status == HTTPStatus.UNAUTHORIZED, service
    time.sleep(0.3)
    assert Recorder.seen == []


def test_unknown_kids_fetch_the_configured_jwks_at_most_once_per_cool_down(tmp_path, listener):
    """A project verifying through JWT_JWKS_URL asks only that URL, and rarely."""
    stack = start_stack(
        tmp_path,
        ["products"],
        env={"JWT_JWKS_URL": f"{listener}/configured/jwks.json", "JWT_PUBLIC_KEY_FILE": ""},
    )
    try:
        url = stack["products"].url
        for n in range(6):
            token = attacker_token(listener, kid=f"forged-{n}")
            answer = requests.post(
                f"{url}/products", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            assert answer.status_code == HTTPStatus.UNAUTHORIZED
    finally:
        stack.stop()

    assert set(Recorder.seen) <= {"/configured/jwks.json"}
    workers = int(os.environ.get("E2E_WEB_CONCURRENCY", "2"))  # a cool-down per worker
    assert 1 <= len(Recorder.seen) <= workers
