"""Races that only a real multi-connection database shows (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from order_service.orders import services
from order_service.orders.exceptions import IdempotencyKeyInUse
from order_service.orders.models import Order
from order_service.tests.factories import confirmed_order
from order_service.tests.fakes import RESERVE, fake_releases, reserved_answer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(count: int, work):
    barrier = threading.Barrier(count)

    def worker(n):
        barrier.wait()
        try:
            return work(n)
        except Exception as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(worker, range(count)))


def test_five_concurrent_places_with_one_key_create_one_order(products, products_url):
    def slow_reserve(request):
        time.sleep(0.2)
        return reserved_answer(request)

    reserve = products.add_callback("POST", products_url + RESERVE, callback=slow_reserve)
    items = [{"product_id": 1, "quantity": 1}]
    results = run_concurrently(
        5,
        lambda _: services.order_place(user_id=1, items=items, idempotency_key="same"),
    )
    placed = [r for r in results if isinstance(r, services.PlaceResult)]
    assert all(isinstance(r, services.PlaceResult | IdempotencyKeyInUse) for r in results), results
    assert len({r.order_id for r in placed}) == 1
    assert Order.objects.count() == 1
    assert reserve.call_count == 1


def test_concurrent_cancels_release_once(products, products_url):
    released = fake_releases(products, products_url)
    order = confirmed_order()
    results = run_concurrently(5, lambda _: services.order_cancel(order_id=order.id))
    assert all(isinstance(r, Order) for r in results), results
    assert {r.status for r in results} == {Order.Status.CANCELLED}
    assert released == [str(order.id)]
