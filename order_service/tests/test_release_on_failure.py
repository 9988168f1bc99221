"""After a successful reservation, every failure releases it (#11 point 10), and failed
orders are not listed to their owner (#11 point 16)."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from common.testing import bearer
from order_service.orders.models import Order, OrderItem
from order_service.tests.fakes import RESERVE, fake_releases

pytestmark = pytest.mark.django_db


def expensive_answer(request):
    """A product at the highest price a product can have."""
    body = json.loads(request.body)
    items = [
        {"product_id": i["product_id"], "name": "Yacht", "unit_price": "99999999.99", **i}
        for i in body["items"]
    ]
    return HTTPStatus.CREATED, {}, json.dumps({"order_ref": body["order_ref"], "items": items})


def place(api_client, quantity: int, key: str = "k-1"):
    return api_client.post(
        "/orders",
        {"items": [{"product_id": 1, "quantity": quantity}]},
        format="json",
        headers={**bearer(user_id=7), "Idempotency-Key": key},
    )


def test_a_total_beyond_what_an_order_holds_is_a_409_and_released(
    api_client, products, products_url
):
    products.add_callback("POST", products_url + RESERVE, callback=expensive_answer)
    released = fake_releases(products, products_url)

    response = place(api_client, 100_000)  # 9 999 999 999 000.00 > 999 999 999 999.99
    again = place(api_client, 100_000)

    assert response.status_code == HTTPStatus.CONFLICT, response.content
    assert response.json()["type"] == "https://errors.example/order-total-too-large"
    [order] = Order.objects.all()
    assert released == [str(order.id)]
    assert (order.status, order.stock) == (Order.Status.FAILED, Order.Stock.RELEASED)
    assert again.status_code == HTTPStatus.CONFLICT  # the same key: the same answer
    assert again.json() == response.json()


def test_any_error_while_confirming_releases_and_frees_the_key(products, products_url, monkeypatch):
    products.add_callback("POST", products_url + RESERVE, callback=expensive_answer)
    released = fake_releases(products, products_url)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(OrderItem.objects, "bulk_create", broken)
    api_client = APIClient(raise_request_exception=False)

    response = place(api_client, 1)

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    [order] = Order.objects.all()
    assert released == [str(order.id)]
    assert (order.status, order.stock, order.idempotency_key) == (
        Order.Status.FAILED,
        Order.Stock.RELEASED,
        "",
    )


def test_failed_orders_are_hidden_from_their_owner_but_not_from_staff(api_client):
    mine = Order.objects.create(user_id=7, status=Order.Status.CONFIRMED)
    failed = Order.objects.create(user_id=7, status=Order.Status.FAILED)

    listed = api_client.get("/orders", headers=bearer(user_id=7)).json()["results"]
    staff = api_client.get("/orders", headers=bearer(user_id=1, is_staff=True)).json()["results"]

    assert [o["id"] for o in listed] == [str(mine.id)]
    assert api_client.get(f"/orders/{failed.id}", headers=bearer(user_id=7)).status_code == 404
    assert {o["id"] for o in staff} == {str(mine.id), str(failed.id)}


def test_a_cursor_that_names_no_position_is_404_not_500(api_client):
    import base64

    cursor = base64.b64encode(b"p=not-a-date").decode()

    response = api_client.get("/orders", {"cursor": cursor}, headers=bearer(user_id=7))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["detail"] == "Invalid cursor"
