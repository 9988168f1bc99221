"""Scrape-time gauges of the product service: what an alert needs that no counter shows.

`products_stock_discrepancies` counts products whose units do not add up (stock + units
held by unreleased reservations != units received): the rule of the check_stock command,
from the same selector. Above zero means units were lost or invented (alert
StockDoesNotAddUp, deploy/monitoring/); `check_stock` names the products.

Computed when /metrics is asked for (common.observability.scrape_gauges): one query (the
held units a
grouped subquery on the reservation items' product index).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Gauge

from common.observability.scrape_gauges import scrape_gauge_register, scrape_gauge_set
from product_service.catalog.selectors import stock_discrepancies

STOCK_DISCREPANCIES = Gauge(
    "products_stock_discrepancies",
    "Products whose stock + units held by unreleased reservations != units received "
    "(check_stock names them); NaN when the database could not be asked.",
    multiprocess_mode="mostrecent",
)


def refresh_on_scrape(sender: Any = None, environ: dict | None = None, **kwargs: Any) -> None:
    """Set the gauge before /metrics renders; any other request costs one comparison."""
    scrape_gauge_set(STOCK_DISCREPANCIES, lambda: stock_discrepancies().count(), environ)


def register() -> None:
    """Called from CatalogConfig.ready()."""
    scrape_gauge_register(refresh_on_scrape, dispatch_uid="catalog.metrics.refresh_on_scrape")
