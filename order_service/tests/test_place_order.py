"""POST /orders with the product service faked at the HTTP level."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
import requests

from common.testing import bearer
from order_service.orders.models import Order, OrderItem
from order_service.tests.factories import expected_order
from order_service.tests.fakes import fake_releases, reserved_answer

pytestmark = pytest.mark.django_db

RESERVE = "/internal/reservations"


def only_order() -> Order:
    [order] = Order.objects.all()
    return order


def test_place_order_reserves_then_confirms_with_snapshots(api_client, products, products_url):
    reserve = products.add_callback("POST", products_url + RESERVE, callback=reserved_answer)
    response = api_client.post(
        "/orders",
        {
            "items": [
                {"product_id": 2, "quantity": 1},
                {"product_id": 1, "quantity": 2},
                {"product_id": 2, "quantity": 3},
            ]
        },
        format="json",
        headers={**bearer(user_id=7), "X-Request-ID": "req-abc-123"},
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    order = only_order()
    assert response.json() == expected_order(
        order,
        user_id=7,
        items=[
            {"product_id": 2, "name": "Gadget", "unit_price": "10.00", "quantity": 4},
            {"product_id": 1, "name": "Widget", "unit_price": "2.50", "quantity": 2},
        ],
        total="45.00",
    )
    assert (order.status, order.stock) == (Order.Status.CONFIRMED, Order.Stock.RESERVED)
    assert reserve.call_count == 1
    sent = reserve.calls[0].request
    assert json.loads(sent.body) == {
        "order_ref": str(order.id),
        "items": [{"product_id": 2, "quantity": 4}, {"product_id": 1, "quantity": 2}],
    }
    assert sent.headers["X-Request-ID"] == "req-abc-123"
    assert sent.headers["X-Service-Token"]


def test_trailing_slash_is_served_too(api_client, products, products_url):
    products.add_callback("POST", products_url + RESERVE, callback=reserved_answer)
    response = api_client.post(
        "/orders/", {"items": [{"product_id": 1, "quantity": 1}]}, format="json", headers=bearer()
    )
    assert response.status_code == HTTPStatus.CREATED


def test_insufficient_stock_is_409_and_nothing_is_ordered(api_client, products, products_url):
    products.add(
        "POST",
        products_url + RESERVE,
        status=HTTPStatus.CONFLICT,
        json={
            "type": "https://errors.example/insufficient-stock",
            "title": "Conflict",
            "status": 409,
            "detail": "Not enough stock for product 1.",
            "items": [{"product_id": 1, "requested": 5, "available": 2}],
        },
        content_type="application/problem+json",
    )
    response = api_client.post(
        "/orders", {"items": [{"product_id": 1, "quantity": 5}]}, format="json", headers=bearer()
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://errors.example/insufficient-stock",
        "title": "Conflict",
        "status": 409,
        "detail": "Not enough stock for product 1.",
        "items": [{"product_id": 1, "requested": 5, "available": 2}],
    }
    order = only_order()
    assert (order.status, order.stock) == (Order.Status.FAILED, Order.Stock.NONE)
    assert not OrderItem.objects.exists()


def test_a_refusal_after_an_unanswered_copy_leaves_a_release_to_reconcile(
    api_client, products, settings
):
    """The reservation timed out at one instance and was sent again to the other, which
    refused it: the copy the first one holds may yet reserve, so the failed order keeps a
    release pending (a refusal at the first try leaves nothing: the test above)."""
    first, second = "http://products-a.test", "http://products-b.test"
    urls = {**settings.COMMON["SERVICE_URLS"], "products": f"{first},{second}"}
    settings.COMMON = {**settings.COMMON, "SERVICE_URLS": urls}
    products.add("POST", first + RESERVE, body=requests.ReadTimeout("no answer in time"))
    body = {"type": "https://errors.example/insufficient-stock", "status": 409, "items": []}
    products.add("POST", second + RESERVE, status=HTTPStatus.CONFLICT, json=body)

    response = api_client.post(
        "/orders",
        {"items": [{"product_id": 1, "quantity": 5}]},
        format="json",
        headers={**bearer(), "Idempotency-Key": "resent-1"},
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert [call.request.url.split("/internal")[0] for call in products.calls] == [first, second]
    order = only_order()
    assert (order.status, order.stock) == (Order.Status.FAILED, Order.Stock.RELEASE_PENDING)
    assert order.response_status == HTTPStatus.CONFLICT  # a retry is answered the same


def test_unknown_product_is_a_409_conflict(api_client, products, products_url):
    products.add(
        "POST",
        products_url + RESERVE,
        status=HTTPStatus.BAD_REQUEST,
        json={
            "type": "https://errors.example/unknown-product",
            "title": "Invalid input",
            "status": 400,
            "detail": "items: Product 99 does not exist or is not active.",
            "errors": {"items": ["Product 99 does not exist or is not active."]},
            "product_ids": [99],
        },
    )
    response = api_client.post(
        "/orders", {"items": [{"product_id": 99, "quantity": 1}]}, format="json", headers=bearer()
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "type": "https://errors.example/unknown-product",
        "title": "Conflict",
        "status": 409,
        "detail": "items: Product 99 does not exist or is not active.",
        "errors": {"items": ["Product 99 does not exist or is not active."]},
    }
    assert only_order().status == Order.Status.FAILED


def test_unknown_product_without_details_still_409(api_client, products, products_url):
    products.add("POST", products_url + RESERVE, status=HTTPStatus.BAD_REQUEST, body="nope")
    response = api_client.post(
        "/orders", {"items": [{"product_id": 99, "quantity": 1}]}, format="json", headers=bearer()
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["errors"] == {"items": ["Unknown or inactive product."]}


UNAVAILABLE = {
    "type": "https://errors.example/service-unavailable",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "The product service is unavailable; nothing was ordered. Try again shortly.",
}


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"body": requests.ReadTimeout("read timed out")}, id="timeout"),
        pytest.param({"body": requests.ConnectionError("refused")}, id="down"),
        pytest.param({"status": 500, "json": {"detail": "boom"}}, id="5xx"),
        pytest.param({"status": 502, "body": "<html>bad gateway</html>"}, id="502-html"),
        pytest.param({"status": 201, "json": {"nonsense": True}}, id="garbled"),
        pytest.param(
            {"status": 409, "json": {"type": "https://errors.example/order-ref-reused"}},
            id="other-409",
        ),
    ],
)
def test_products_failing_is_503_with_retry_after_and_releases(
    api_client, products, products_url, failure
):
    products.add("POST", products_url + RESERVE, **failure)
    releases = fake_releases(products, products_url)
    response = api_client.post(
        "/orders", {"items": [{"product_id": 1, "quantity": 1}]}, format="json", headers=bearer()
    )
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "5"
    assert response.json() == UNAVAILABLE
    order = only_order()
    assert releases == [str(order.id)]
    assert (order.status, order.stock) == (Order.Status.FAILED, Order.Stock.RELEASED)
