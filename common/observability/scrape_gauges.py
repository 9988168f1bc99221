"""Gauges computed when /metrics is asked for: what an alert needs that no counter shows.

Django's request_started signal comes before the view renders the page, so a receiver set
up by `scrape_gauge` sets its gauge from the database just in time; any other request
costs it one comparison. A database error leaves /metrics answering (up stays 1) and the
gauge NaN: unknown, not zero. Under gunicorn each worker writes its samples to
PROMETHEUS_MULTIPROC_DIR; declare the gauge with `multiprocess_mode="mostrecent"` so the
last value written is kept, with no pid label.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.signals import request_started
from django.db import DatabaseError
from prometheus_client import Gauge

logger = logging.getLogger(__name__)
METRICS_PATH = "/metrics"


def is_scrape(environ: dict[str, Any] | None) -> bool:
    """This request (its WSGI `environ`, as request_started gives it) asks for /metrics."""
    return (environ or {}).get("PATH_INFO") == METRICS_PATH


def scrape_gauge_set(
    gauge: Gauge, compute: Callable[[], float], environ: dict[str, Any] | None
) -> None:
    """Set `gauge` to `compute()` when this request (its WSGI `environ`) is a scrape."""
    if not is_scrape(environ):
        return
    try:
        gauge.set(compute())
    except DatabaseError as error:
        logger.warning("%s: database error: %s", next(iter(gauge.describe())).name, error)
        gauge.set(float("nan"))


def scrape_gauge_register(receiver: Callable[..., Any], *, dispatch_uid: str) -> None:
    """Called from an app's ready(): `receiver` runs at the start of every request."""
    request_started.connect(receiver, dispatch_uid=dispatch_uid)
