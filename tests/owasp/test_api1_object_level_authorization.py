"""API1:2023 Broken Object Level Authorization: another user's order does not exist for you."""

from __future__ import annotations

from http import HTTPStatus

import pytest

pytestmark = pytest.mark.e2e


def test_another_users_order_is_not_found_nor_cancellable(api_client):
    product = api_client.new_product(stock=5)
    alice, bob = api_client.user_token(501), api_client.user_token(502)
    status, _, order = api_client.call(
        "POST", "/orders", {"items": [{"product_id": product["id"], "quantity": 1}]}, token=alice
    )
    assert status == HTTPStatus.CREATED, order

    seen = api_client.call("GET", f"/orders/{order['id']}", token=bob)
    cancelled = api_client.call("POST", f"/orders/{order['id']}/cancel", token=bob)
    listed = api_client.call("GET", "/orders", token=bob)

    assert seen[0] == cancelled[0] == HTTPStatus.NOT_FOUND
    assert seen[2]["type"].endswith("/not-found")
    assert listed[2]["results"] == []
    assert api_client.call("GET", f"/orders/{order['id']}", token=alice)[2]["status"] == "confirmed"


def test_staff_filters_do_not_widen_a_users_view(api_client):
    product = api_client.new_product(stock=5)
    api_client.call(
        "POST",
        "/orders",
        {"items": [{"product_id": product["id"], "quantity": 1}]},
        token=api_client.user_token(511),
    )

    status, _, page = api_client.call(
        "GET", "/orders?user_id=511", token=api_client.user_token(512)
    )

    assert status == HTTPStatus.OK
    assert page["results"] == []


def test_a_profile_is_always_the_callers_own(api_client):
    alice, alice_tokens = api_client.new_user("alice")
    _bob, bob_tokens = api_client.new_user("bob")

    status, _, profile = api_client.call("GET", "/users/profile?id=1", token=bob_tokens["access"])

    assert status == HTTPStatus.OK
    assert profile["username"] != alice
    assert (
        api_client.call("GET", "/users/profile", token=alice_tokens["access"])[2]["username"]
        == alice
    )
