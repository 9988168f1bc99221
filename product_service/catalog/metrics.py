"""Scrape-time gauges of the product service: what an alert needs that no counter shows.

`products_stock_discrepancies` counts products whose units do not add up (stock + units
held by unreleased reservations != units received): the rule of the check_stock command,
from the same selector. Above zero means units were lost or invented (alert
StockDoesNotAddUp, deploy/monitoring/); `check_stock` names the products.

The value is computed when /metrics is asked for: Django's request_started signal comes
before the view renders the page. One query (the held units a grouped subquery on the
reservation items' product index). Under gunicorn each worker writes its samples to
PROMETHEUS_MULTIPROC_DIR; `mostrecent` keeps the last value written, with no pid label.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.signals import request_started
from django.db import DatabaseError
from prometheus_client import Gauge

from product_service.catalog.selectors import stock_discrepancies

logger = logging.getLogger(__name__)
METRICS_PATH = "/metrics"

STOCK_DISCREPANCIES = Gauge(
    "products_stock_discrepancies",
    "Products whose stock + units held by unreleased reservations != units received "
    "(check_stock names them); NaN when the database could not be asked.",
    multiprocess_mode="mostrecent",
)


def refresh_on_scrape(sender: Any = None, environ: dict | None = None, **kwargs: Any) -> None:
    """Set the gauge before /metrics renders; any other request costs one comparison."""
    if (environ or {}).get("PATH_INFO") != METRICS_PATH:
        return
    try:
        STOCK_DISCREPANCIES.set(stock_discrepancies().count())
    except DatabaseError as error:
        # /metrics still answers (up stays 1); the gauge says it does not know.
        logger.warning("products_stock_discrepancies: database error: %s", error)
        STOCK_DISCREPANCIES.set(float("nan"))


def register() -> None:
    """Called from CatalogConfig.ready()."""
    request_started.connect(refresh_on_scrape, dispatch_uid="catalog.metrics.refresh_on_scrape")
