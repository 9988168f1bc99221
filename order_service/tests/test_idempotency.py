"""Idempotency-Key on POST /orders, as payment APIs do it."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import requests

from common.testing import bearer
from order_service.orders.models import Order
from order_service.orders.services import order_lines_merge, order_request_fingerprint
from order_service.tests.factories import OrderFactory
from order_service.tests.fakes import RESERVE, fake_releases, reserved_answer

pytestmark = pytest.mark.django_db

BODY = {"items": [{"product_id": 1, "quantity": 2}]}


def post(api_client, body=BODY, *, key="key-1", user_id=1):
    return api_client.post(
        "/orders", body, format="json", headers={**bearer(user_id=user_id), "Idempotency-Key": key}
    )


def test_same_key_same_body_answers_the_first_answer_and_creates_nothing(
    api_client, products, products_url
):
    reserve = products.add_callback("POST", products_url + RESERVE, callback=reserved_answer)
    first = post(api_client)
    again = post(
        api_client, {"items": [{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 1}]}
    )
    assert first.status_code == again.status_code == HTTPStatus.CREATED
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1
    assert reserve.call_count == 1


def test_replay_is_the_first_answer_even_after_a_cancel(api_client, products, products_url):
    products.add_callback("POST", products_url + RESERVE, callback=reserved_answer)
    fake_releases(products, products_url)
    first = post(api_client)
    cancelled = api_client.post(f"/orders/{first.json()['id']}/cancel", headers=bearer())
    assert cancelled.json()["status"] == "cancelled"
    again = post(api_client)
    assert again.status_code == HTTPStatus.CREATED
    assert again.json() == first.json()


def test_same_key_different_body_is_422(api_client, products, products_url):
    products.add_callback("POST", products_url + RESERVE, callback=reserved_answer)
    post(api_client)
    response = post(api_client, {"items": [{"product_id": 1, "quantity": 3}]})
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json() == {
        "type": "https://errors.example/idempotency-key-mismatch",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "This Idempotency-Key was used with a different request body.",
    }
    assert Order.objects.count() == 1


def test_key_still_being_processed_is_409_in_use_with_retry_after(api_client):
    OrderFactory(
        user_id=1,
        status=Order.Status.PENDING,
        stock=Order.Stock.NONE,
        idempotency_key="key-1",
        request_fingerprint=order_request_fingerprint(order_lines_merge(BODY["items"])),
    )
    response = post(api_client)
    assert response.status_code == HTTPStatus.CONFLICT
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "type": "https://errors.example/idempotency-key-in-use",
        "title": "Conflict",
        "status": 409,
        "detail": "A request with this Idempotency-Key is still being processed.",
    }
    assert Order.objects.count() == 1


def test_keys_are_per_user(api_client, products, products_url):
    products.add_callback("POST", products_url + RESERVE, callback=reserved_answer)
    mine = post(api_client, user_id=1)
    theirs = post(api_client, user_id=2)
    assert mine.status_code == theirs.status_code == HTTPStatus.CREATED
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["user_id"] == 2
    assert "Idempotent-Replayed" not in theirs


def test_a_definite_failure_is_replayed_without_asking_again(api_client, products, products_url):
    reserve = products.add(
        "POST",
        products_url + RESERVE,
        status=409,
        json={
            "type": "https://errors.example/insufficient-stock",
            "detail": "Not enough.",
            "items": [{"product_id": 1, "requested": 2, "available": 0}],
        },
    )
    first = post(api_client)
    again = post(api_client)
    assert first.status_code == again.status_code == HTTPStatus.CONFLICT
    assert (
        again.json()
        == first.json()
        == {
            "type": "https://errors.example/insufficient-stock",
            "title": "Conflict",
            "status": 409,
            "detail": "Not enough.",
            "items": [{"product_id": 1, "requested": 2, "available": 0}],
        }
    )
    assert reserve.call_count == 1


def test_unknown_product_failure_is_replayed(api_client, products, products_url):
    reserve = products.add(
        "POST",
        products_url + RESERVE,
        status=400,
        json={"detail": "x", "errors": {"items": ["Product 1 does not exist or is not active."]}},
    )
    first = post(api_client)
    again = post(api_client)
    assert first.status_code == again.status_code == HTTPStatus.CONFLICT
    assert again.json() == first.json()
    assert reserve.call_count == 1


def test_after_products_unavailable_the_same_key_may_try_again(api_client, products, products_url):
    reserve = products.add("POST", products_url + RESERVE, body=requests.ConnectionError("down"))
    fake_releases(products, products_url)
    assert post(api_client).status_code == HTTPStatus.SERVICE_UNAVAILABLE
    products.remove(reserve)
    products.add_callback("POST", products_url + RESERVE, callback=reserved_answer)
    retried = post(api_client)
    assert retried.status_code == HTTPStatus.CREATED
    assert "Idempotent-Replayed" not in retried
    assert sorted(Order.objects.values_list("status", flat=True)) == ["confirmed", "failed"]
