"""orders_pending_over_timeout: what /metrics says about orders reconcile should fail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from order_service.orders import metrics
from order_service.orders.models import Order
from order_service.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def scraped_value(client) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200
    lines = [
        line
        for line in response.content.decode().splitlines()
        if line.startswith("orders_pending_over_timeout ")
    ]
    assert len(lines) == 1, "one sample, no pid label"
    return float(lines[0].split()[1])


def aged(seconds: int, **fields) -> Order:
    order = OrderFactory(**fields)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))
    return order


def test_counts_only_pending_orders_older_than_the_timeout(client, settings):
    settings.ORDERS_PENDING_TIMEOUT = 60
    aged(120, status=Order.Status.PENDING)
    aged(120, status=Order.Status.PENDING)
    aged(10, status=Order.Status.PENDING)  # young: reconcile leaves it
    aged(120, status=Order.Status.CONFIRMED)
    aged(120, status=Order.Status.FAILED)
    assert scraped_value(client) == 2


def test_follows_the_database_at_every_scrape(client, settings):
    settings.ORDERS_PENDING_TIMEOUT = 60
    assert scraped_value(client) == 0
    stuck = aged(120, status=Order.Status.PENDING)
    assert scraped_value(client) == 1
    Order.objects.filter(pk=stuck.pk).update(status=Order.Status.FAILED)
    assert scraped_value(client) == 0


def test_is_the_same_rule_as_reconcile(settings):
    """What the gauge counts is exactly what reconcile then fails."""
    from order_service.orders.services import order_reconcile

    settings.ORDERS_PENDING_TIMEOUT = 60
    ids = {aged(120, status=Order.Status.PENDING).pk, aged(61, status=Order.Status.PENDING).pk}
    aged(30, status=Order.Status.PENDING)
    assert metrics.pending_over_timeout() == 2
    report = order_reconcile()
    assert set(report.failed_pending) == ids
    assert metrics.pending_over_timeout() == 0


def test_other_requests_do_not_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        metrics.refresh_on_scrape(environ={"PATH_INFO": "/orders"})


def test_a_database_error_leaves_metrics_answering(client, monkeypatch):
    def broken(now=None):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(metrics, "pending_over_timeout", broken)
    value = scraped_value(client)
    assert value != value  # NaN: unknown, not zero
