"""Scrape-time gauges of the order service: what an alert needs that no counter shows.

`orders_pending_over_timeout` counts orders still pending past ORDERS_PENDING_TIMEOUT.
The reconcile command fails such orders, so a value above zero that lasts means reconcile
is not scheduled or not succeeding (alert OrdersStuckPending, deploy/monitoring/).

The value is computed when /metrics is asked for: Django's request_started signal comes
before the view renders the page. One count on the (status, created_at) index. Under
gunicorn each worker writes its samples to PROMETHEUS_MULTIPROC_DIR; `mostrecent` keeps
the last value written, with no pid label.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.signals import request_started
from django.db import DatabaseError
from django.utils import timezone
from prometheus_client import Gauge

from order_service.orders.models import Order
from order_service.orders.services import pending_timeout

logger = logging.getLogger(__name__)
METRICS_PATH = "/metrics"

PENDING_OVER_TIMEOUT = Gauge(
    "orders_pending_over_timeout",
    "Orders still pending longer than ORDERS_PENDING_TIMEOUT (reconcile fails them); "
    "NaN when the database could not be asked.",
    multiprocess_mode="mostrecent",
)


def pending_over_timeout(now: datetime | None = None) -> int:
    """Orders that reconcile would fail now: the same filter as orders_reconcile()."""
    cutoff = (now or timezone.now()) - pending_timeout()
    return Order.objects.filter(status=Order.Status.PENDING, created_at__lt=cutoff).count()


def refresh_on_scrape(sender: Any = None, environ: dict | None = None, **kwargs: Any) -> None:
    """Set the gauge before /metrics renders; any other request costs one comparison."""
    if (environ or {}).get("PATH_INFO") != METRICS_PATH:
        return
    try:
        PENDING_OVER_TIMEOUT.set(pending_over_timeout())
    except DatabaseError as error:
        # /metrics still answers (up stays 1); the gauge says it does not know.
        logger.warning("orders_pending_over_timeout: database error: %s", error)
        PENDING_OVER_TIMEOUT.set(float("nan"))


def register() -> None:
    """Called from OrdersConfig.ready()."""
    request_started.connect(refresh_on_scrape, dispatch_uid="orders.metrics.refresh_on_scrape")
