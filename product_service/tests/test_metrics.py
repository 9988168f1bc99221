"""products_stock_discrepancies: what /metrics says about units that do not add up."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from product_service.catalog import metrics
from product_service.catalog.models import Product
from product_service.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def scraped_value(client) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200
    lines = [
        line
        for line in response.content.decode().splitlines()
        if line.startswith("products_stock_discrepancies ")
    ]
    assert len(lines) == 1, "one sample, no pid label"
    return float(lines[0].split()[1])


def test_zero_when_every_unit_is_accounted_for(client):
    ProductFactory.create_batch(3)
    assert scraped_value(client) == 0


def test_counts_the_products_check_stock_would_name(client):
    lost, invented, _fine = ProductFactory.create_batch(3)
    Product.objects.filter(pk=lost.pk).update(stock=lost.stock - 1)
    Product.objects.filter(pk=invented.pk).update(stock=invented.stock + 5)
    assert scraped_value(client) == 2
    Product.objects.filter(pk=lost.pk).update(stock=lost.stock)
    assert scraped_value(client) == 1


def test_one_query_per_scrape(django_assert_num_queries):
    ProductFactory.create_batch(5)
    with django_assert_num_queries(1):
        metrics.refresh_on_scrape(environ={"PATH_INFO": "/metrics"})
    with django_assert_num_queries(0):
        metrics.refresh_on_scrape(environ={"PATH_INFO": "/products"})


def test_a_database_error_leaves_metrics_answering(client, monkeypatch):
    def broken():
        raise DatabaseError("connection refused")

    monkeypatch.setattr(metrics, "stock_discrepancies", broken)
    value = scraped_value(client)
    assert value != value  # NaN: unknown, not zero
