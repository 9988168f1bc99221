"""API4:2023 Unrestricted Resource Consumption: bodies, nesting, pages, lines and the
password hashing a login costs are all bounded, and answered with 4xx problems."""

from __future__ import annotations

import http.client
import json
from http import HTTPStatus

import pytest

from devtools.harness import http as http_call

pytestmark = pytest.mark.e2e

DEEP = ("[" * 50_000).encode()


@pytest.mark.parametrize(
    ("service", "path", "staff"),
    [
        ("users", "/users/login", False),
        ("products", "/products", True),
        ("orders", "/orders", False),
    ],
)
def test_deeply_nested_json_is_a_400_at_every_service(api_client, service, path, staff):
    token = api_client.staff_token() if staff else api_client.user_token(401)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-Forwarded-For": api_client.ip,
    }

    for base in (api_client.url(service), api_client.url()):
        status, answer_headers, body = http_call(
            "POST", f"{base}{path}", body=DEEP, headers=headers
        )

        assert status == HTTPStatus.BAD_REQUEST, (base, body[:200])
        assert answer_headers["Content-Type"] == "application/problem+json"
        assert json.loads(body)["type"].endswith("/malformed-request")


def test_a_body_over_the_limit_is_413_before_it_is_read(api_client):
    """Only the headers are sent: the gateway answers from Content-Length alone (sending
    the body would race the gateway closing the connection after its answer)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", api_client.stack["gateway"].port, timeout=10
    )
    try:
        connection.putrequest("POST", "/users/login")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", "1100000")
        connection.putheader("X-Forwarded-For", api_client.ip)
        connection.endheaders()
        answer = connection.getresponse()
        body = json.loads(answer.read())
    finally:
        connection.close()

    assert answer.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert body["status"] == 413


def test_pages_are_capped(api_client):
    status, _, page = api_client.call("GET", "/products?page_size=100")
    too_large, _, problem = api_client.call("GET", "/products?page_size=100000")

    assert status == HTTPStatus.OK
    assert len(page["results"]) <= 100
    assert too_large == HTTPStatus.BAD_REQUEST
    assert problem["errors"] == {"page_size": ["A whole number from 1 to 100, given once."]}


def test_an_order_has_at_most_50_lines_and_bounded_quantities(api_client):
    token = api_client.user_token(402)
    lines = [{"product_id": n, "quantity": 1} for n in range(1, 52)]

    too_many = api_client.call("POST", "/orders", {"items": lines}, token=token)
    too_much = api_client.call(
        "POST", "/orders", {"items": [{"product_id": 1, "quantity": 10**7}]}, token=token
    )

    assert too_many[0] == too_much[0] == HTTPStatus.BAD_REQUEST


def test_an_oversized_password_is_refused_before_hashing(api_client):
    status, _, problem = api_client.call(
        "POST", "/users/login", {"username": "someone", "password": "x" * 5000}
    )

    assert status == HTTPStatus.BAD_REQUEST
    assert "password" in problem["errors"]
