"""POST /orders input checks: answered before anything is recorded or reserved."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from common.testing import bearer
from order_service.orders.models import Order

pytestmark = pytest.mark.django_db


def test_anonymous_is_401(api_client):
    response = api_client.post(
        "/orders", {"items": [{"product_id": 1, "quantity": 1}]}, format="json"
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["type"] == "https://errors.example/not-authenticated"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"items": ["This field is required."]}),
        (
            {"items": []},
            {"items": {"non_field_errors": ["Ensure this field has at least 1 elements."]}},
        ),
        (
            {"items": [{"product_id": 1, "quantity": 0}]},
            {"items": {"0": {"quantity": ["Ensure this value is greater than or equal to 1."]}}},
        ),
        (
            {"items": [{"product_id": 1, "quantity": -2}]},
            {"items": {"0": {"quantity": ["Ensure this value is greater than or equal to 1."]}}},
        ),
        (
            {"items": [{"product_id": "x", "quantity": 1}]},
            {"items": {"0": {"product_id": ["A valid integer is required."]}}},
        ),
        (
            {"items": [{"quantity": 1}]},
            {"items": {"0": {"product_id": ["This field is required."]}}},
        ),
        (
            {"items": [{"product_id": i, "quantity": 1} for i in range(1, 52)]},
            {"items": {"non_field_errors": ["Ensure this field has no more than 50 elements."]}},
        ),
    ],
)
def test_invalid_bodies_are_400(api_client, body, errors):
    response = api_client.post("/orders", body, format="json", headers=bearer())
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["type"] == "https://errors.example/validation"
    assert response.json()["errors"] == errors
    assert not Order.objects.exists()


def test_fifty_lines_are_accepted(api_client, products, products_url):
    import json

    def answer(request):
        sent = json.loads(request.body)
        items = [{**item, "name": "P", "unit_price": "1.00"} for item in sent["items"]]
        return 201, {}, json.dumps({"order_ref": sent["order_ref"], "items": items})

    products.add_callback("POST", products_url + "/internal/reservations", callback=answer)
    body = {"items": [{"product_id": i, "quantity": 1} for i in range(1, 51)]}
    response = api_client.post("/orders", body, format="json", headers=bearer())
    assert response.status_code == HTTPStatus.CREATED
    assert len(response.json()["items"]) == 50
    assert response.json()["total"] == "50.00"


def test_bad_idempotency_key_is_400(api_client):
    response = api_client.post(
        "/orders",
        {"items": [{"product_id": 1, "quantity": 1}]},
        format="json",
        headers={**bearer(), "Idempotency-Key": "has space"},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {
        "Idempotency-Key": ["Use 1 to 255 printable ASCII characters, no spaces."]
    }


def test_lines_of_one_product_beyond_the_quantity_an_order_takes_are_a_409(api_client):
    lines = [{"product_id": 7, "quantity": 999_999}, {"product_id": 7, "quantity": 2}]

    response = api_client.post("/orders", {"items": lines}, format="json", headers=bearer())

    assert response.status_code == HTTPStatus.CONFLICT, response.content
    assert response.json()["type"] == "https://errors.example/order-quantity-too-large"
    assert response.json()["errors"] == {
        "items": ["At most 1000000 units of one product per order."]
    }
