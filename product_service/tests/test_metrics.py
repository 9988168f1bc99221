"""products_stock_discrepancies: what /metrics says about units that do not add up."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from common.testing import scraped_sample
from product_service.catalog import metrics
from product_service.catalog.models import Product
from product_service.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def scraped_value(api_client) -> float:
    return scraped_sample(api_client, "products_stock_discrepancies")


def test_zero_when_every_unit_is_accounted_for(api_client):
    ProductFactory.create_batch(3)
    assert scraped_value(api_client) == 0


def test_counts_the_products_check_stock_would_name(api_client):
    lost, invented, _fine = ProductFactory.create_batch(3)
    Product.objects.filter(pk=lost.pk).update(stock=lost.stock - 1)
    Product.objects.filter(pk=invented.pk).update(stock=invented.stock + 5)
    assert scraped_value(api_client) == 2
    Product.objects.filter(pk=lost.pk).update(stock=lost.stock)
    assert scraped_value(api_client) == 1


def test_one_query_per_scrape(django_assert_num_queries):
    ProductFactory.create_batch(5)
    with django_assert_num_queries(1):
        metrics.refresh_on_scrape(environ={"PATH_INFO": "/metrics"})
    with django_assert_num_queries(0):
        metrics.refresh_on_scrape(environ={"PATH_INFO": "/products"})


def test_a_database_error_leaves_metrics_answering(api_client, monkeypatch):
    def broken():
        raise DatabaseError("connection refused")

    monkeypatch.setattr(metrics, "stock_discrepancies", broken)
    value = scraped_value(api_client)
    assert value != value  # NaN: unknown, not zero
