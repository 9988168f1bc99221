"""GET /orders and GET /orders/{id}: own orders only, staff see all."""

from __future__ import annotations

import uuid
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from common.testing import bearer
from order_service.orders.models import Order
from order_service.tests.factories import OrderFactory, confirmed_order, expected_order

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    return [order["id"] for order in response.json()["results"]]


def aged(order: Order, minutes: int) -> Order:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    order.refresh_from_db()
    return order


def test_list_is_own_orders_newest_first(api_client):
    old = aged(confirmed_order(user_id=1), 10)
    new = aged(confirmed_order(user_id=1), 1)
    confirmed_order(user_id=2)
    response = api_client.get("/orders", headers=bearer(user_id=1))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [expected_order(order) for order in (new, old)],
    }


def test_list_is_cursor_paginated(api_client):
    orders = [aged(OrderFactory(user_id=1), minutes) for minutes in range(5, 0, -1)]
    first = api_client.get("/orders?page_size=2", headers=bearer(user_id=1))
    assert ids(first) == [str(orders[4].id), str(orders[3].id)]
    assert first.json()["previous"] is None
    second = api_client.get(first.json()["next"], headers=bearer(user_id=1))
    assert ids(second) == [str(orders[2].id), str(orders[1].id)]
    third = api_client.get(second.json()["next"], headers=bearer(user_id=1))
    assert ids(third) == [str(orders[0].id)]
    assert third.json()["next"] is None
    assert (
        api_client.get(third.json()["previous"], headers=bearer(user_id=1)).json() == second.json()
    )


def test_anonymous_cannot_list(api_client):
    assert api_client.get("/orders").status_code == HTTPStatus.UNAUTHORIZED


def test_non_staff_filters_never_reach_other_users(api_client):
    confirmed_order(user_id=2)
    response = api_client.get("/orders?user_id=2", headers=bearer(user_id=1))
    assert response.json()["results"] == []


def test_staff_see_everyone_and_filter_by_user_and_status(api_client):
    a = aged(confirmed_order(user_id=1), 3)
    b = aged(OrderFactory(user_id=2, status=Order.Status.CANCELLED), 2)
    c = aged(OrderFactory(user_id=2, status=Order.Status.CONFIRMED), 1)
    staff = bearer(user_id=99, is_staff=True)
    assert ids(api_client.get("/orders", headers=staff)) == [str(c.id), str(b.id), str(a.id)]
    assert ids(api_client.get("/orders?user_id=2", headers=staff)) == [str(c.id), str(b.id)]
    assert ids(api_client.get("/orders?status=confirmed", headers=staff)) == [str(c.id), str(a.id)]
    assert ids(api_client.get("/orders?user_id=2&status=cancelled", headers=staff)) == [str(b.id)]


def test_invalid_status_filter_is_400(api_client):
    response = api_client.get("/orders?status=shipped", headers=bearer(is_staff=True))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {
        "status": ["Select a valid choice. shipped is not one of the available choices."]
    }


@pytest.mark.parametrize(
    "query", ["user_id=0.5", "user_id=1.0", "user_id=x", "user_id=1&user_id=2", "page_size=0"]
)
def test_a_filter_the_schema_refuses_is_400(api_client, query):
    response = api_client.get(f"/orders?{query}", headers=bearer(user_id=9, is_staff=True))

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert list(response.json()["errors"]) == [query.split("=")[0]]


def test_get_own_order(api_client):
    order = confirmed_order(user_id=1)
    response = api_client.get(f"/orders/{order.id}", headers=bearer(user_id=1))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == expected_order(order)


def test_another_users_order_is_404_like_a_missing_one(api_client):
    order = confirmed_order(user_id=2)
    theirs = api_client.get(f"/orders/{order.id}", headers=bearer(user_id=1))
    missing = api_client.get(f"/orders/{uuid.uuid4()}", headers=bearer(user_id=1))
    assert theirs.status_code == missing.status_code == HTTPStatus.NOT_FOUND
    assert (
        theirs.json()
        == missing.json()
        == {
            "type": "https://errors.example/not-found",
            "title": "Not Found",
            "status": 404,
            "detail": "No Order matches the given query.",
        }
    )


def test_malformed_id_is_404(api_client):
    assert (
        api_client.get("/orders/not-a-uuid", headers=bearer()).status_code == HTTPStatus.NOT_FOUND
    )
    assert (
        api_client.get("/orders/" + "a" * 36, headers=bearer()).status_code == HTTPStatus.NOT_FOUND
    )


def test_staff_may_read_any_order(api_client):
    order = confirmed_order(user_id=2)
    response = api_client.get(f"/orders/{order.id}", headers=bearer(user_id=9, is_staff=True))
    assert response.status_code == HTTPStatus.OK


def consumer_headers(token: str, owner: int = 1) -> dict[str, str]:
    """What the gateway sends for an API key's consumer owned by `owner`."""
    return {
        "X-Consumer-Id": "7",
        "X-Consumer-Name": "billing",
        "X-Consumer-Owner": str(owner),
        "X-Consumer-Scopes": "orders:read",
        "X-Service-Token": token,
    }


def test_a_consumer_the_gateway_forwards_reads_its_owners_orders(api_client, settings):
    mine = confirmed_order(user_id=1)
    confirmed_order(user_id=2)
    gateway = settings.COMMON["SERVICE_TOKEN"]  # the shared token: every caller's, the gateway's

    response = api_client.get("/orders", headers=consumer_headers(gateway))

    assert response.status_code == HTTPStatus.OK
    assert ids(response) == [str(mine.id)]


def test_consumer_headers_without_the_gateways_token_are_refused(api_client, settings):
    confirmed_order(user_id=1)
    settings.COMMON = {**settings.COMMON, "SERVICE_TOKENS": ["gateway=g-token", "products=p-token"]}

    forged = api_client.get("/orders", headers=consumer_headers("p-token"))
    none = api_client.get("/orders", headers=consumer_headers(""))

    assert forged.status_code == HTTPStatus.UNAUTHORIZED
    assert none.status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.get("/orders", headers=consumer_headers("g-token")).status_code == 200
