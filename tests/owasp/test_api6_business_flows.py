"""API6:2023 Unrestricted Access to Sensitive Business Flows: an order flood cannot oversell
or hold stock, a retried order is placed once, and an impossible total holds nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest

pytestmark = pytest.mark.e2e


def stock_of(api_client, product_id: int) -> int:
    return api_client.call("GET", f"/products/{product_id}", token=api_client.staff_token())[2][
        "stock"
    ]


def test_an_order_flood_sells_exactly_the_stock(api_client):
    product = api_client.new_product(stock=6)
    body = {"items": [{"product_id": product["id"], "quantity": 1}]}

    def order(n: int) -> int:
        return api_client.call("POST", "/orders", body, token=api_client.user_token(700 + n))[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(order, range(16)))

    assert answers.count(HTTPStatus.CREATED) == 6
    assert answers.count(HTTPStatus.CONFLICT) == 10
    assert stock_of(api_client, product["id"]) == 0


def test_a_retried_order_is_placed_once(api_client):
    product = api_client.new_product(stock=5)
    body = {"items": [{"product_id": product["id"], "quantity": 2}]}
    headers = {"Idempotency-Key": "owasp-retry-1"}
    token = api_client.user_token(720)

    first = api_client.call("POST", "/orders", body, token=token, headers=headers)
    again = api_client.call("POST", "/orders", body, token=token, headers=headers)

    assert (first[0], again[0]) == (HTTPStatus.CREATED, HTTPStatus.CREATED)
    assert first[2]["id"] == again[2]["id"]
    assert again[1]["Idempotent-Replayed"] == "true"
    assert stock_of(api_client, product["id"]) == 3


def test_an_order_whose_total_cannot_be_recorded_holds_no_stock(api_client):
    product = api_client.new_product(stock=200_000, price="99999999.99")
    body = {"items": [{"product_id": product["id"], "quantity": 100_000}]}

    status, _, problem = api_client.call("POST", "/orders", body, token=api_client.user_token(730))

    assert status == HTTPStatus.CONFLICT
    assert problem["type"].endswith("/order-total-too-large")
    assert stock_of(api_client, product["id"]) == 200_000
    assert api_client.call("GET", "/orders", token=api_client.user_token(730))[2]["results"] == []
