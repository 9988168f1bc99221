"""What the gateway's response cache needs from the catalog: headers and purges.

Reads say who may keep them (`Cache-Control`: public for everyone but staff, who see
inactive products) and which data they show (`Surrogate-Key`: `products` on list pages,
`product-<id>` on a product). Every change names the keys it makes stale and, once its
transaction has committed, purges them at the gateway (`POST /internal/cache/purge`,
service token), before the change's own answer goes out: a read after it is fresh.
Without GATEWAY_INTERNAL_URL nothing is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db import transaction
from rest_framework.request import Request
from rest_framework.response import Response

from common.auth import own_service_token
from common.conf import common_settings, on_settings_change
from common.service_client import ServiceClient, ServiceUnavailable

logger = logging.getLogger(__name__)

# Public answers may be kept this long (the gateway also caps it by its route setting).
PUBLIC_MAX_AGE = 30
# The purge runs while the writer waits: short, and a failure only logs.
PURGE_TIMEOUT = (0.5, 1.0)
LIST_KEY = "products"
MAX_KEYS_PER_PURGE = 100  # what the gateway accepts in one call


def product_key(product_id: int) -> str:
    return f"product-{product_id}"


class CacheHeadersMixin:
    """For a viewset: Cache-Control and Surrogate-Key on its successful reads."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            staff = bool(getattr(request.user, "is_staff", False))
            response["Cache-Control"] = "private" if staff else f"public, max-age={PUBLIC_MAX_AGE}"
            if self.action == "list":
                response["Surrogate-Key"] = LIST_KEY
            elif isinstance(response.data, dict) and "id" in response.data:
                response["Surrogate-Key"] = product_key(response.data["id"])
        return response


def products_changed(product_ids: Iterable[int]) -> None:
    """These products changed (stock, fields, activity): purge what shows them — their
    own pages and every list page — after the current transaction commits."""
    if not common_settings.GATEWAY_INTERNAL_URL:
        return
    keys = [LIST_KEY, *sorted({product_key(pid) for pid in product_ids})]
    transaction.on_commit(lambda: purge(keys))


def purge(keys: list[str]) -> None:
    """Ask the gateway to drop these keys now; a failure is logged, never raised (the
    change is committed; entries then live out their max-age at most)."""
    client = _gateway_client()
    for start in range(0, len(keys), MAX_KEYS_PER_PURGE):
        chunk = keys[start : start + MAX_KEYS_PER_PURGE]
        try:
            answer = client.post("/internal/cache/purge", json={"keys": chunk})
        except ServiceUnavailable:
            logger.error("cache purge of %s failed: gateway unreachable", chunk)
            continue
        if answer.status_code != 200:
            logger.error("cache purge of %s failed: gateway answered %s", chunk, answer.status_code)


@cache
def _gateway_client() -> ServiceClient:
    connect, read = PURGE_TIMEOUT
    return ServiceClient(
        "gateway",
        common_settings.GATEWAY_INTERNAL_URL,
        service_token=own_service_token(),
        connect_timeout=connect,
        read_timeout=read,
        pool_size=4,
    )


on_settings_change("COMMON")(_gateway_client.cache_clear)
