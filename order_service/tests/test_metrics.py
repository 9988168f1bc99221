"""orders_pending_over_timeout: what /metrics says about orders reconcile should fail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from common.testing import scraped_sample
from order_service.orders import metrics
from order_service.orders.models import Order
from order_service.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def scraped_value(api_client) -> float:
    return scraped_sample(api_client, "orders_pending_over_timeout")


def aged(seconds: int, **fields) -> Order:
    order = OrderFactory(**fields)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))
    return order


def test_counts_only_pending_orders_older_than_the_timeout(api_client, settings):
    settings.ORDERS_PENDING_TIMEOUT = 60
    aged(120, status=Order.Status.PENDING)
    aged(120, status=Order.Status.PENDING)
    aged(10, status=Order.Status.PENDING)  # young: reconcile leaves it
    aged(120, status=Order.Status.CONFIRMED)
    aged(120, status=Order.Status.FAILED)
    assert scraped_value(api_client) == 2


def test_follows_the_database_at_every_scrape(api_client, settings):
    settings.ORDERS_PENDING_TIMEOUT = 60
    assert scraped_value(api_client) == 0
    stuck = aged(120, status=Order.Status.PENDING)
    assert scraped_value(api_client) == 1
    Order.objects.filter(pk=stuck.pk).update(status=Order.Status.FAILED)
    assert scraped_value(api_client) == 0


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


def test_other_requests_do_not_query(api_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        metrics.refresh_on_scrape(environ={"PATH_INFO": "/orders"})


def test_a_database_error_leaves_metrics_answering(api_client, monkeypatch):
    def broken(now=None):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(metrics, "pending_over_timeout", broken)
    value = scraped_value(api_client)
    assert value != value  # NaN: unknown, not zero
