"""Request bytes the gateway cannot forward as they are: a clear answer, never a 500 or 502."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from common.testing import bearer


def test_raw_non_ascii_query_bytes_go_upstream_percent_encoded(api_client, upstreams):
    # A WSGI server hands the query's raw bytes over decoded as latin-1.
    raw = "q=caf\xc3\xa9&n=\xff"

    response = api_client.get("/products", QUERY_STRING=raw)

    assert response.status_code == HTTPStatus.OK
    assert upstreams["products"].received[0].path == "/products?q=caf%C3%A9&n=%FF"


def test_an_ascii_query_goes_upstream_unchanged(api_client, upstreams):
    api_client.get("/products", QUERY_STRING="a=%20b&c=%zz&d=<x>")

    assert upstreams["products"].received[0].path == "/products?a=%20b&c=%zz&d=<x>"


@pytest.mark.parametrize("raw", ["q=a b", "q=a\x7fb", "q=a\x01b", "q=a\tb"])
def test_a_raw_space_or_control_byte_in_the_query_is_400(api_client, upstreams, raw):
    response = api_client.get("/products", QUERY_STRING=raw)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["type"].endswith("/invalid-request-target")
    assert upstreams["products"].received == []


def test_a_header_value_with_non_ascii_bytes_is_400_not_500(api_client, upstreams):
    response = api_client.get("/products", HTTP_X_NAME="caf\xc3\xa9")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    problem = json.loads(response.content)
    assert problem["type"].endswith("/invalid-header")
    assert "X-Name" in problem["detail"]
    assert upstreams["products"].received == []


@pytest.mark.parametrize(
    "connection", ["Authorization", "keep-alive, AUTHORIZATION", "close,cookie"]
)
def test_a_credential_named_in_connection_is_400_and_nothing_is_forwarded(
    api_client, upstreams, connection
):
    """Dropped as hop-by-hop after the gateway checked it, a staff token would leave the
    service answering as anonymous, stored under the staff key."""
    staff = bearer(user_id=1, is_staff=True)

    response = api_client.get("/products/1", headers={**staff, "Connection": connection})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["type"].endswith("/hop-by-hop-credential")
    assert upstreams["products"].received == []


def test_other_headers_named_in_connection_are_still_dropped(api_client, upstreams):
    response = api_client.get(
        "/products/1", headers={"Connection": "X-Trace-Me", "X-Trace-Me": "1", "X-Kept": "2"}
    )

    assert response.status_code == HTTPStatus.OK
    received = upstreams["products"].received[0].headers
    assert "x-trace-me" not in received
    assert received["x-kept"] == "2"
