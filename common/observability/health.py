"""Liveness (no I/O) and readiness (the database and the cache answer) for every project."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from common.settings.namespaces import common_settings

logger = logging.getLogger(__name__)


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: answers while the process serves; touches nothing else."""
    return JsonResponse({"status": "ok", "service": common_settings.SERVICE_NAME})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = f"ready:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("value written was not read back")
    cache.delete(key)


CHECKS = {"database": _check_database, "cache": _check_cache}


def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database and the cache answer, else 503 naming the failure."""
    results: dict[str, dict[str, Any]] = {}
    healthy = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as error:  # any failure means "not ready", never a 500
            healthy = False
            logger.warning("readiness check %s failed: %s", name, error)
            results[name] = {"status": "down", "error": f"{type(error).__name__}: {error}"[:300]}
        else:
            results[name] = {"status": "up"}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    body = {
        "status": "ok" if healthy else "unavailable",
        "service": common_settings.SERVICE_NAME,
        "checks": results,
    }
    return JsonResponse(body, status=200 if healthy else 503)
