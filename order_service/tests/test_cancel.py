"""POST /orders/{id}/cancel: owner or staff; releases once; idempotent."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import requests

from common.testing import bearer
from order_service.orders import services
from order_service.orders.models import Order
from order_service.tests.factories import OrderFactory, confirmed_order, expected_order
from order_service.tests.fakes import fake_releases

pytestmark = pytest.mark.django_db


def test_owner_cancels_and_stock_is_released_once(api_client, products, products_url):
    released = fake_releases(products, products_url)
    order = confirmed_order(user_id=1)
    response = api_client.post(f"/orders/{order.id}/cancel", headers=bearer(user_id=1))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == expected_order(order, status="cancelled")
    again = api_client.post(f"/orders/{order.id}/cancel/", headers=bearer(user_id=1))
    assert again.status_code == HTTPStatus.OK
    assert again.json() == response.json()
    assert released == [str(order.id)]
    order.refresh_from_db()
    assert (order.status, order.stock) == (Order.Status.CANCELLED, Order.Stock.RELEASED)


def test_staff_may_cancel_anyones_order(api_client, products, products_url):
    released = fake_releases(products, products_url)
    order = confirmed_order(user_id=1)
    response = api_client.post(
        f"/orders/{order.id}/cancel", headers=bearer(user_id=5, is_staff=True)
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "cancelled"
    assert released == [str(order.id)]


def test_someone_elses_order_is_404_and_untouched(api_client, products, products_url):
    released = fake_releases(products, products_url)
    order = confirmed_order(user_id=2)
    response = api_client.post(f"/orders/{order.id}/cancel", headers=bearer(user_id=1))
    assert response.status_code == HTTPStatus.NOT_FOUND
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert released == []


def test_cancel_while_products_is_down_cancels_and_reconcile_releases_later(
    api_client, products, products_url
):
    failing = fake_releases(products, products_url, body=requests.ConnectionError("down"))
    order = confirmed_order(user_id=1)
    response = api_client.post(f"/orders/{order.id}/cancel", headers=bearer(user_id=1))
    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "cancelled"
    order.refresh_from_db()
    assert order.stock == Order.Stock.RELEASE_PENDING
    assert failing == [str(order.id)]
    # A second cancel does not try again: that is reconcile's job.
    api_client.post(f"/orders/{order.id}/cancel", headers=bearer(user_id=1))
    assert failing == [str(order.id)]

    products.reset()
    released = fake_releases(products, products_url)
    report = services.order_reconcile()
    assert report.released == [order.id]
    assert released == [str(order.id)]
    order.refresh_from_db()
    assert order.stock == Order.Stock.RELEASED
    services.order_reconcile()
    assert released == [str(order.id)]


@pytest.mark.parametrize(
    ("status", "problem_type"),
    [(Order.Status.PENDING, "order-pending"), (Order.Status.FAILED, "order-not-cancellable")],
)
def test_pending_and_failed_orders_cannot_be_cancelled(api_client, status, problem_type):
    order = OrderFactory(user_id=1, status=status, stock=Order.Stock.NONE)
    # A failed order does not exist for its owner (404): staff see it and get the reason.
    staff = status == Order.Status.FAILED
    response = api_client.post(
        f"/orders/{order.id}/cancel", headers=bearer(user_id=1, is_staff=staff)
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["type"] == f"https://errors.example/{problem_type}"
    order.refresh_from_db()
    assert order.status == status


def test_a_cancelled_order_is_never_confirmed_again(products, products_url):
    """A reservation answering after the order left `pending` is released, not confirmed."""
    released = fake_releases(products, products_url)
    order = OrderFactory(user_id=1, status=Order.Status.CANCELLED, stock=Order.Stock.RELEASED)
    from order_service.orders.products import ReservedItem

    with pytest.raises(services.ProductsUnavailable):
        services._confirm(
            order.id, [ReservedItem(1, "Widget", services.Decimal("1"), 1)], services.Decimal("1")
        )
    order.refresh_from_db()
    assert (order.status, order.stock) == (Order.Status.CANCELLED, Order.Stock.RELEASED)
    assert order.items.count() == 0
    assert released == [str(order.id)]
