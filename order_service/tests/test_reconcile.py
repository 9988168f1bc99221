"""`manage_all.py orders reconcile`: deliver missed releases, fail orders stuck in pending."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from common.testing import bearer
from order_service.orders import services
from order_service.orders.models import Order
from order_service.tests.factories import OrderFactory
from order_service.tests.fakes import RESERVE, fake_releases, reserved_answer

pytestmark = pytest.mark.django_db


def reconcile() -> str:
    out = StringIO()
    call_command("reconcile", stdout=out)
    return out.getvalue().strip()


def aged(order: Order, seconds: int) -> Order:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))
    order.refresh_from_db()
    return order


def test_release_failure_then_reconcile(api_client, products, products_url):
    products.add("POST", products_url + RESERVE, status=500, json={"detail": "boom"})
    failed_release = fake_releases(products, products_url, status=503)
    response = api_client.post(
        "/orders", {"items": [{"product_id": 1, "quantity": 1}]}, format="json", headers=bearer()
    )
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    [order] = Order.objects.all()
    assert (order.status, order.stock) == (Order.Status.FAILED, Order.Stock.RELEASE_PENDING)
    assert failed_release == [str(order.id)]

    # Still down: nothing changes, it is tried again next time.
    assert reconcile() == "failed 0 stuck pending order(s); released 0; 1 release(s) still pending"
    order.refresh_from_db()
    assert order.stock == Order.Stock.RELEASE_PENDING

    products.reset()
    released = fake_releases(products, products_url)
    assert reconcile() == "failed 0 stuck pending order(s); released 1; 0 release(s) still pending"
    order.refresh_from_db()
    assert (order.status, order.stock) == (Order.Status.FAILED, Order.Stock.RELEASED)
    assert released == [str(order.id)]
    assert reconcile() == "failed 0 stuck pending order(s); released 0; 0 release(s) still pending"
    assert released == [str(order.id)]


def test_orders_stuck_pending_are_failed_and_released(products, products_url, settings):
    settings.ORDERS_PENDING_TIMEOUT = 60
    released = fake_releases(products, products_url)
    stuck = aged(
        OrderFactory(status=Order.Status.PENDING, stock=Order.Stock.NONE, idempotency_key="k"),
        61,
    )
    recent = aged(OrderFactory(status=Order.Status.PENDING, stock=Order.Stock.NONE), 30)
    assert reconcile() == "failed 1 stuck pending order(s); released 1; 0 release(s) still pending"
    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert (stuck.status, stuck.stock) == (Order.Status.FAILED, Order.Stock.RELEASED)
    assert stuck.idempotency_key == ""  # the client may retry with its key
    assert (recent.status, recent.stock) == (Order.Status.PENDING, Order.Stock.NONE)
    assert released == [str(stuck.id)]


def test_a_stuck_order_whose_reservation_never_arrived_is_settled_by_404(
    products, products_url, settings
):
    settings.ORDERS_PENDING_TIMEOUT = 60
    unknown = fake_releases(products, products_url, status=404)
    stuck = aged(OrderFactory(status=Order.Status.PENDING, stock=Order.Stock.NONE), 120)
    reconcile()
    stuck.refresh_from_db()
    assert (stuck.status, stuck.stock) == (Order.Status.FAILED, Order.Stock.RELEASED)
    assert unknown == [str(stuck.id)]


def test_a_recent_timeout_is_not_settled_by_404(api_client, products, products_url, settings):
    """The timed-out reserve may still land: 404 only settles it after the pending timeout."""
    settings.ORDERS_PENDING_TIMEOUT = 60
    products.add("POST", products_url + RESERVE, body=requests.ReadTimeout("slow"))
    fake_releases(products, products_url, status=404)
    response = api_client.post(
        "/orders", {"items": [{"product_id": 1, "quantity": 1}]}, format="json", headers=bearer()
    )
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    [order] = Order.objects.all()
    assert order.stock == Order.Stock.RELEASE_PENDING
    reconcile()
    order.refresh_from_db()
    assert order.stock == Order.Stock.RELEASE_PENDING
    # The late reservation did land meanwhile; the next run releases it.
    products.reset()
    released = fake_releases(products, products_url)
    reconcile()
    order.refresh_from_db()
    assert order.stock == Order.Stock.RELEASED
    assert released == [str(order.id)]


def test_reconcile_does_not_touch_settled_orders(products, products_url):
    released = fake_releases(products, products_url)
    OrderFactory(status=Order.Status.CONFIRMED, stock=Order.Stock.RESERVED)
    OrderFactory(status=Order.Status.CANCELLED, stock=Order.Stock.RELEASED)
    OrderFactory(status=Order.Status.FAILED, stock=Order.Stock.NONE)
    report = services.order_reconcile()
    assert (report.failed_pending, report.released, report.still_pending_release) == ([], [], [])
    assert released == []


def test_confirm_after_reconcile_failed_the_order_releases_it(
    api_client, products, products_url, settings
):
    """A crash-like delay: reconcile fails the pending order before the reservation returns."""
    settings.ORDERS_PENDING_TIMEOUT = 0
    released = fake_releases(products, products_url)

    def slow_reserve(request):
        services.order_reconcile(now=timezone.now() + timedelta(seconds=1))
        return reserved_answer(request)

    products.add_callback("POST", products_url + RESERVE, callback=slow_reserve)
    response = api_client.post(
        "/orders", {"items": [{"product_id": 1, "quantity": 1}]}, format="json", headers=bearer()
    )
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    [order] = Order.objects.all()
    assert (order.status, order.stock) == (Order.Status.FAILED, Order.Stock.RELEASED)
    assert order.items.count() == 0
    assert released == [str(order.id), str(order.id)]
