"""Scrape-time gauges of the order service: what an alert needs that no counter shows.

`orders_pending_over_timeout` counts orders still pending past ORDERS_PENDING_TIMEOUT.
The reconcile command fails such orders, so a value above zero that lasts means reconcile
is not scheduled or not succeeding (alert OrdersStuckPending, deploy/monitoring/).

Computed when /metrics is asked for (common.observability.scrape_gauges): one count on the
(status, created_at) index. The lambda looks its function up at each scrape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from prometheus_client import Gauge

from common.observability.scrape_gauges import scrape_gauge_register, scrape_gauge_set
from order_service.orders.models import Order
from order_service.orders.services import pending_timeout

PENDING_OVER_TIMEOUT = Gauge(
    "orders_pending_over_timeout",
    "Orders still pending longer than ORDERS_PENDING_TIMEOUT (reconcile fails them); "
    "NaN when the database could not be asked.",
    multiprocess_mode="mostrecent",
)


def pending_over_timeout(now: datetime | None = None) -> int:
    """Orders that reconcile would fail now: the same filter as order_reconcile()."""
    cutoff = (now or timezone.now()) - pending_timeout()
    return Order.objects.filter(status=Order.Status.PENDING, created_at__lt=cutoff).count()


def refresh_on_scrape(sender: Any = None, environ: dict | None = None, **kwargs: Any) -> None:
    """Set the gauge before /metrics renders; any other request costs one comparison."""
    scrape_gauge_set(PENDING_OVER_TIMEOUT, lambda: pending_over_timeout(), environ)


def register() -> None:
    """Called from OrdersConfig.ready()."""
    scrape_gauge_register(refresh_on_scrape, dispatch_uid="orders.metrics.refresh_on_scrape")
