"""The upstream client (libcurl): only what the client sent crosses, on kept-alive
connections, whatever libcurl or the environment would add."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from common.testing import bearer
from gateway_project.tests.fake_upstream import Reply


def test_nothing_is_added_to_what_the_client_sent(api_client, upstreams):
    # No Accept, no Content-Type, no Expect: libcurl would add each of them on its own.
    api_client.generic("PUT", "/products/7", b"\x00raw", headers=bearer(is_staff=True))
    api_client.get("/products", HTTP_X_EMPTY="")

    put, get = upstreams["products"].received
    assert put.method == "PUT"
    assert put.body == b"\x00raw"
    assert "expect" not in put.headers
    assert "accept" not in get.headers
    assert get.headers["x-empty"] == ""
    sent = {name.lower() for name, _ in put.header_list}
    assert sent <= {
        "host",
        "content-length",
        "content-type",  # Django's test client sends one for every body
        "authorization",
        "cookie",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-request-id",
        "traceparent",
    }


def test_a_body_without_content_type_gets_none(api_client, upstreams):
    from django.test import Client

    raw = Client()
    raw.generic("POST", "/users/register", b"{}", content_type="")

    received = upstreams["users"].received[0]
    assert received.body == b"{}"
    assert "content-type" not in received.headers or received.headers["content-type"] == ""


@pytest.mark.parametrize(
    ("method", "policy_token"),
    [("POST", False), ("PUT", True), ("PATCH", True), ("DELETE", True)],
)
def test_methods_without_a_body_cross_as_they_came(api_client, upstreams, method, policy_token):
    path = "/users/register" if method == "POST" else "/products/3"
    headers = bearer(is_staff=True) if policy_token else {}
    service = "users" if method == "POST" else "products"

    response = api_client.generic(method, path, headers=headers)

    assert response.status_code == HTTPStatus.OK
    received = upstreams[service].received[0]
    assert received.method == method
    assert received.body == b""
    if method in ("POST", "PUT", "PATCH"):
        assert received.headers["content-length"] == "0"


def test_head_is_forwarded_as_head(api_client, upstreams):
    upstreams["products"].responder = lambda received: Reply(
        200, b"", [("Content-Type", "application/json")]
    )

    response = api_client.head("/products")

    assert response.status_code == HTTPStatus.OK
    assert upstreams["products"].received[0].method == "HEAD"


def test_proxies_from_the_environment_are_never_used(api_client, upstreams, monkeypatch):
    from devtools.harness import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)

    response = api_client.get("/products")

    assert response.status_code == HTTPStatus.OK
    assert json.loads(response.content)["service"] == "products"


def test_connections_are_kept_alive_between_requests(api_client, upstreams):
    for _ in range(5):
        assert api_client.get("/products").status_code == HTTPStatus.OK

    peers = {received.peer for received in upstreams["products"].received}
    assert len(peers) == 1


def test_a_connection_the_service_closed_is_replaced_without_a_lost_request(api_client, upstreams):
    upstreams["products"].responder = lambda received: Reply(
        200, b"{}", [("Content-Type", "application/json")], hang_up=True
    )

    statuses = [api_client.get("/products").status_code for _ in range(3)]

    assert statuses == [HTTPStatus.OK] * 3
    received = upstreams["products"].received
    assert len(received) == 3  # each request reached the service exactly once
    assert len({r.peer for r in received}) == 3


def test_a_service_saying_connection_close_is_honoured(api_client, upstreams):
    upstreams["products"].responder = lambda received: Reply(200, b"{}", [("Connection", "close")])

    statuses = [api_client.get("/products").status_code for _ in range(2)]

    assert statuses == [HTTPStatus.OK] * 2
    assert len({r.peer for r in upstreams["products"].received}) == 2


def test_a_post_the_service_dropped_is_never_sent_twice(api_client, upstreams):
    users = upstreams["users"]
    # A kept-alive connection to the service is in the thread's cache...
    assert api_client.get("/users/.well-known/jwks.json").status_code == HTTPStatus.OK
    users.received.clear()
    # ...and the service takes the POST, then closes without answering.
    users.responder = lambda received: Reply(drop=True)

    response = api_client.post("/users/register", b"{}", content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert [r.method for r in users.received] == ["POST"]


def test_an_idempotent_request_the_service_dropped_on_a_reused_connection_is_resent(
    api_client, upstreams
):
    products = upstreams["products"]
    assert api_client.get("/products").status_code == HTTPStatus.OK
    products.received.clear()
    answers = iter([Reply(drop=True), Reply(200, b"{}", [("Content-Type", "application/json")])])
    products.responder = lambda received: next(answers)

    response = api_client.get("/products")

    assert response.status_code == HTTPStatus.OK
    assert [r.method for r in products.received] == ["GET", "GET"]


def test_the_path_and_query_are_sent_exactly_as_given(upstreams):
    from gateway_project.transport.client import exchange

    answer = exchange(
        upstreams["products"].url,
        "GET",
        "/a/./b/../c%2Fd?x=1&x=%20",
        {},
        None,
        connect_timeout=1,
        read_timeout=2,
    )

    assert answer.status == HTTPStatus.OK
    assert upstreams["products"].received[0].path == "/a/./b/../c%2Fd?x=1&x=%20"
