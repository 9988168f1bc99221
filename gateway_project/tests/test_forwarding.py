"""What crosses the gateway: body bytes, headers both ways, forwarded-for, failures."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http import HTTPStatus

import pytest
from django.test import override_settings

from common.testing import bearer
from gateway_project.tests.conftest import gateway_settings
from gateway_project.tests.fake_upstream import Reply


def test_body_bytes_reach_the_service_untouched(api_client, upstreams):
    body = b'{"username": "al\\u00efce",   "password": "x"}\n\x00\xff'

    api_client.post("/users/register", body, content_type="application/octet-stream")

    received = upstreams["users"].received[0]
    assert received.body == body
    assert received.headers["content-type"] == "application/octet-stream"
    assert received.headers["content-length"] == str(len(body))


def test_body_over_the_limit_is_413_without_reaching_the_service(api_client, upstreams):
    with gateway_settings(MAX_BODY_BYTES=100):
        response = api_client.post("/users/register", b"x" * 101, content_type="application/json")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response["RateLimit-Policy"].startswith('"auth";')
    assert json.loads(response.content) == {
        "type": "https://errors.example/payload-too-large",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "The request body is larger than the gateway accepts.",
    }
    assert upstreams["users"].received == []


def test_body_at_the_limit_passes(api_client, upstreams):
    with gateway_settings(MAX_BODY_BYTES=100):
        response = api_client.post("/users/register", b"x" * 100, content_type="application/json")

    assert response.status_code == HTTPStatus.OK
    assert upstreams["users"].received[0].body == b"x" * 100


def test_hop_by_hop_and_internal_headers_are_not_forwarded(api_client, upstreams):
    api_client.get(
        "/products",
        headers={
            "Connection": "keep-alive, X-Private-Hop",
            "X-Private-Hop": "1",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Upgrade": "websocket",
            "Proxy-Authorization": "Basic eA==",
            "Expect": "100-continue",
            "X-Service-Token": "stolen",
            "X-Custom": "kept",
            "Accept-Language": "fr",
        },
    )

    headers = upstreams["products"].received[0].headers
    for name in ("x-private-hop", "keep-alive", "te", "upgrade", "proxy-authorization", "expect"):
        assert name not in headers
    assert "x-service-token" not in headers
    assert headers["x-custom"] == "kept"
    assert headers["accept-language"] == "fr"


def test_hop_by_hop_response_headers_are_dropped_the_rest_returned(api_client, upstreams):
    upstreams["products"].responder = lambda received: Reply(
        201,
        b'{"id": 1}',
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Connection", "X-Hop-Out"),
            ("X-Hop-Out", "secret"),
            ("Keep-Alive", "timeout=5"),
            ("Location", "/products/1"),
            ("ETag", '"v1"'),
            ("Cache-Control", "no-store"),
        ],
    )

    response = api_client.get("/products")

    assert response.status_code == HTTPStatus.CREATED
    assert response.content == b'{"id": 1}'
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Location"] == "/products/1"
    assert response["ETag"] == '"v1"'
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("X-Hop-Out")
    assert not response.has_header("Keep-Alive")


def test_upstream_problem_details_are_returned_as_the_service_sent_them(api_client, upstreams):
    problem = b'{"type": "https://errors.example/insufficient-stock", "status": 409}'
    upstreams["orders"].responder = lambda received: Reply(
        409, problem, [("Content-Type", "application/problem+json")]
    )

    response = api_client.post("/orders", b"{}", content_type="application/json", headers=bearer())

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.content == problem
    assert response["Content-Type"] == "application/problem+json"


def test_upstream_html_error_is_passed_through_too(api_client, upstreams):
    upstreams["products"].responder = lambda received: Reply(
        404, b"<h1>gone</h1>", [("Content-Type", "text/html")]
    )

    response = api_client.get("/products/9")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.content == b"<h1>gone</h1>"


def test_forwarded_headers_name_the_peer_and_ignore_an_untrusted_clients_claims(
    api_client, upstreams
):
    api_client.get(
        "/products",
        REMOTE_ADDR="203.0.113.9",
        headers={
            "X-Forwarded-For": "1.2.3.4",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
            "Host": "api.example.com",
        },
    )

    headers = upstreams["products"].received[0].headers
    assert headers["x-forwarded-for"] == "203.0.113.9"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "api.example.com"


def test_trusted_proxy_forwarded_headers_are_extended(api_client, upstreams):
    with gateway_settings(TRUSTED_PROXIES=["10.0.0.0/8"]):
        api_client.get(
            "/products",
            REMOTE_ADDR="10.1.1.1",
            headers={
                "X-Forwarded-For": "198.51.100.7",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "shop.example.com",
            },
        )

    headers = upstreams["products"].received[0].headers
    assert headers["x-forwarded-for"] == "198.51.100.7, 10.1.1.1"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-host"] == "shop.example.com"


def test_request_id_and_traceparent_go_upstream_and_the_id_comes_back(api_client, upstreams):
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    response = api_client.get(
        "/products", headers={"X-Request-ID": "abc-123", "traceparent": trace}
    )

    headers = upstreams["products"].received[0].headers
    assert headers["x-request-id"] == "abc-123"
    assert headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert headers["traceparent"].endswith("-01")
    assert headers["traceparent"] != trace
    assert response["X-Request-ID"] == "abc-123"


def test_request_id_is_made_when_missing(api_client, upstreams):
    response = api_client.get("/products")

    sent = upstreams["products"].received[0].headers["x-request-id"]
    assert response["X-Request-ID"] == sent
    assert len(sent) == 32


def test_upstream_refusing_connections_is_503_with_retry_after(api_client, upstreams, settings):
    from devtools.harness import free_port

    urls = {**settings.COMMON["SERVICE_URLS"], "products": f"http://127.0.0.1:{free_port()}"}
    settings.COMMON = {**settings.COMMON, "SERVICE_URLS": urls}
    started = time.monotonic()

    with gateway_settings(CONNECT_TIMEOUT=10.0):
        response = api_client.get("/products")

    # The behaviour is the bound: a refusal is answered at once, not after the connect
    # timeout (10 s); 3 s leaves a busy machine room.
    assert time.monotonic() - started < 3.0
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "5"
    assert json.loads(response.content) == {
        "type": "https://errors.example/service-unavailable",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "A service this request depends on is unavailable; try again shortly.",
    }


def test_upstream_too_slow_is_504(api_client, upstreams):
    # The answer would come after 3 s: a 504 is the read timeout (0.1 s) ending the wait.
    upstreams["products"].responder = lambda received: Reply(200, b"{}", delay=3.0)

    with gateway_settings(READ_TIMEOUT=0.1):
        response = api_client.get("/products")

    assert len(upstreams["products"].received) == 1  # asked once: a GET that timed out
    assert response.status_code == HTTPStatus.GATEWAY_TIMEOUT
    assert json.loads(response.content)["type"] == "https://errors.example/gateway-timeout"


def test_cors_for_a_configured_origin(api_client, upstreams, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    preflight = api_client.options(
        "/orders",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    response = api_client.get("/products", headers={"Origin": "https://app.example.com"})
    other = api_client.get("/products", headers={"Origin": "https://evil.example"})

    assert preflight.status_code == HTTPStatus.OK
    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert upstreams["orders"].received == []
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "RateLimit-Remaining" in response["Access-Control-Expose-Headers"]
    assert not other.has_header("Access-Control-Allow-Origin")


def test_access_log_line_names_route_service_and_upstream(api_client, upstreams, caplog):
    with caplog.at_level("INFO", logger="access"):
        api_client.get("/orders/4", headers=bearer(user_id=42), REMOTE_ADDR="192.0.2.1")

    record = next(r for r in caplog.records if r.name == "access")
    assert record.route == "/orders/{id}"
    assert record.upstream_service == "orders"
    assert record.upstream_status == 200
    assert record.upstream_ms > 0
    assert record.user_id == 42
    assert record.client_ip == "192.0.2.1"
    assert record.throttled is False


def test_host_not_allowed_is_400_without_an_upstream_call(api_client, upstreams, settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]

    response = api_client.get("/products", headers={"Host": "evil.example"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert json.loads(response.content)["status"] == 400
    assert upstreams["products"].received == []


def test_proxied_answer_has_its_length_and_nosniff(api_client, upstreams):
    response = api_client.get("/products/5")

    assert response["Content-Length"] == str(len(response.content))
    assert response["X-Content-Type-Options"] == "nosniff"


def _hang_up(connection: socket.socket) -> None:
    connection.close()


def _reset(connection: socket.socket) -> None:
    # Linger 0: close() sends RST instead of FIN, as a crashed or killed process's kernel does.
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def _not_http(connection: socket.socket) -> None:
    connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    connection.close()


@pytest.mark.parametrize(
    ("ending", "detail"),
    [
        (_hang_up, "The products service closed the connection without answering."),
        (_reset, "The products service reset the connection."),
        (_not_http, "The products service answered with something that is not HTTP."),
    ],
    ids=["closed", "reset", "not-http"],
)
def test_an_upstream_connection_ending_without_an_answer_is_502_saying_how(
    api_client, upstreams, ending, detail
):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        for _ in range(2):  # the first try and the one retry of an idempotent method
            connection, _ = server.accept()
            connection.recv(65536)
            ending(connection)

    threading.Thread(target=serve, daemon=True).start()
    port = server.getsockname()[1]
    from django.conf import settings as django_settings

    urls = {**django_settings.COMMON["SERVICE_URLS"], "products": f"http://127.0.0.1:{port}"}
    with override_settings(COMMON={**django_settings.COMMON, "SERVICE_URLS": urls}):
        response = api_client.get("/products")
    server.close()

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    body = json.loads(response.content)
    assert body["type"] == "https://errors.example/bad-gateway"
    assert body["detail"] == detail
    assert body["service"] == "products"


def test_compressed_body_and_every_cookie_come_back_as_sent(api_client, upstreams):
    import gzip

    compressed = gzip.compress(b'{"results": []}')
    upstreams["products"].responder = lambda received: Reply(
        200,
        compressed,
        [
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/; HttpOnly"),
            ("Vary", "Accept-Encoding"),
        ],
    )

    response = api_client.get("/products?x=1&x=2", headers={"Accept-Encoding": "gzip"})

    assert response.content == compressed
    assert response["Content-Encoding"] == "gzip"
    assert response["Vary"] == "Accept-Encoding, origin"  # django-cors-headers adds origin
    assert [cookie.output(header="") for cookie in response.cookies.values()] == [
        "a=1; Path=/",
        "b=2; Path=/; HttpOnly",
    ]
    received = upstreams["products"].received[0]
    assert received.path == "/products?x=1&x=2"
    assert received.headers["accept-encoding"] == "gzip"
