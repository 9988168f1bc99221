"""The gateway's operator endpoints on its public port, as the container entrypoint runs it
in production: /ready, /metrics, /api/schema and /api/docs answer an operator only (the
GATEWAY_OPS_TOKEN bearer token, or a client in GATEWAY_OPS_NETWORKS, the loopback by
default: the image's HEALTHCHECK), everyone else the 404 problem of an unknown path."""

from __future__ import annotations

import json
import secrets

import pytest

from devtools.harness import ServiceProcess, free_port, http, start_stack

pytestmark = pytest.mark.e2e

OPERATOR_PATHS = ["/ready", "/metrics", "/api/schema", "/api/docs"]
TOKEN = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A gateway with the defaults (the loopback is an operator network), and one behind a
    proxy on the loopback that names the operators' network 10.9.0.0/16."""
    stack = start_stack(
        tmp_path_factory.mktemp("ops"), ["gateway"], env={"GATEWAY_OPS_TOKEN": TOKEN}
    )
    port = free_port()
    proxied = ServiceProcess(
        "gateway",
        port,
        {
            **stack["gateway"].env,
            "PORT": str(port),
            "VAR_DIR": str(stack.root / "proxied"),
            "GATEWAY_TRUSTED_PROXIES": "127.0.0.1",
            "GATEWAY_OPS_NETWORKS": "10.9.0.0/16",
        },
        stack.root / "proxied.log",
    )
    stack.services["proxied"] = proxied
    try:
        # Its /ready is for operators, and the loopback is none here: wait for liveness.
        proxied.start(wait=False, migrate=False).wait_ready(path="/health/live")
    except BaseException:
        stack.stop()
        raise
    yield stack
    stack.stop()


def assert_unknown_path(answer: tuple, path: str) -> None:
    status, headers, body = answer
    assert status == 404, body[:300]
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["detail"] == f"No resource at {path}."


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_strangers_get_404_operators_get_the_endpoint(stack, path):
    url = stack["proxied"].url
    # Through the trusted proxy: the client it names decides.
    assert_unknown_path(http("GET", url + path, headers={"X-Forwarded-For": "203.0.113.5"}), path)
    assert_unknown_path(http("GET", url + path), path)  # the proxy itself is no operator
    wrong = http("GET", url + path, headers={"Authorization": "Bearer not-the-token"})
    assert_unknown_path(wrong, path)
    assert http("GET", url + path, headers={"X-Forwarded-For": "10.9.1.1"})[0] == 200
    assert http("GET", url + path, headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert http("GET", f"{url}/health/live")[0] == 200


def test_by_default_the_loopback_is_an_operator_but_not_what_it_forwards(stack):
    url = stack["gateway"].url
    status, _, body = http("GET", f"{url}/ready")
    assert status == 200, body
    assert http("GET", f"{url}/metrics")[0] == 200
    # A proxy on the loopback the gateway was not told about: its clients are strangers.
    forwarded = http("GET", f"{url}/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert_unknown_path(forwarded, "/metrics")
    scraped = http(
        "GET",
        f"{url}/metrics",
        headers={"X-Forwarded-For": "203.0.113.5", "Authorization": f"Bearer {TOKEN}"},
    )
    assert scraped[0] == 200
    assert b"django_http_requests" in scraped[2]
