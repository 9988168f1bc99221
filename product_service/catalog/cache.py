"""What the gateway's response cache needs from the catalog: headers and purges.

Reads say who may keep them and for how long, and which data they show:

- `Surrogate-Control: max-age=30` is for the gateway alone (it strips it): its response
  cache keeps a public read that long, and the purges below reach it.
- `Cache-Control: public, no-cache` is for every cache past the gateway (a browser, a
  CDN): no purge reaches those, so they may keep a copy but must revalidate it before
  each use, with the `ETag` (a hash of the body: the same from every instance, for a GET
  and a HEAD, for a gateway HIT and a MISS). The gateway answers that revalidation `304`
  from its cache while it holds the same body, so a change shows at once everywhere.
- Staff see inactive products: their reads are `private, no-cache` (never stored by the
  gateway, revalidated by the browser), with an ETag all the same.
- `Surrogate-Key`: `products` on list pages, `product-<id>` on a product.

Every change names the keys it makes stale and, once its transaction has committed,
purges them before the change's own answer goes out: a read after it is fresh.

With Redis the cache lives there, and the purge runs there, in the writer's commit hook
(catalog/purges.py): it holds with every gateway down. Without Redis it is sent to the
gateway (GATEWAY_INTERNAL_URL; without one nothing is sent) by one sender thread per
process, and the writer waits for it PURGE_WAIT at most. A gateway whose threads are all
busy forwarding writes that wait on this service (orders at 32 connections reserve stock
here) would otherwise hold every one of those writes for the purge's timeout: the writer
answers after PURGE_WAIT, and the purge still lands once a gateway thread is free (purges
waiting meanwhile are sent as one). Either way a purge that does not land is kept and
tried again until it does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from common.settings.namespaces import common_settings
from product_service.catalog.purges import (
    PurgeNotDelivered,
    purge_in_redis,
    purge_redis,
    purge_sender,
)

# The gateway may keep public answers this long (it also caps it by its route setting);
# its purges reach only its own cache, so every other cache is told to revalidate.
PUBLIC_MAX_AGE = 30
GATEWAY_CACHE_CONTROL = f"max-age={PUBLIC_MAX_AGE}"
PUBLIC_CACHE_CONTROL = "public, no-cache"
STAFF_CACHE_CONTROL = "private, no-cache"
# How long a writer waits for its purge at the gateway before answering (it still lands).
PURGE_WAIT = 0.1
LIST_KEY = "products"


def product_key(product_id: int) -> str:
    return f"product-{product_id}"


if TYPE_CHECKING:  # what the mixin is mixed into
    from rest_framework.viewsets import GenericViewSet as _ViewSet
else:
    _ViewSet = object


class CacheHeadersMixin(_ViewSet):
    """For a viewset: Cache-Control, Surrogate-Control, Surrogate-Key and an ETag on its
    successful reads."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            if getattr(request.user, "is_staff", False):
                response["Cache-Control"] = STAFF_CACHE_CONTROL
            else:
                response["Cache-Control"] = PUBLIC_CACHE_CONTROL
                response["Surrogate-Control"] = GATEWAY_CACHE_CONTROL
            # The body exists once rendered (a HEAD's too: the server drops it after).
            response.add_post_render_callback(set_etag)
            if self.action == "list":
                response["Surrogate-Key"] = LIST_KEY
            elif isinstance(response.data, dict) and "id" in response.data:
                response["Surrogate-Key"] = product_key(response.data["id"])
        return response


def body_etag(body: bytes) -> str:
    """A strong ETag for these bytes: it changes whenever they do, whoever computes it."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def set_etag(response: HttpResponse) -> None:
    response["ETag"] = body_etag(response.content)


def products_changed(product_ids: Iterable[int]) -> None:
    """These products changed (stock, fields, activity): purge what shows them — their
    own pages and every list page — after the current transaction commits."""
    if purge_redis() is None and not common_settings.GATEWAY_INTERNAL_URL:
        return  # neither Redis nor a gateway: no cache to purge
    keys = [LIST_KEY, *sorted({product_key(pid) for pid in product_ids})]
    transaction.on_commit(lambda: purge(keys))


def purge(keys: list[str]) -> None:
    """Drop these keys from the gateway's cache: in Redis, now, when it lives there; else
    at the gateway, waiting PURGE_WAIT at most for it. What does not land now is kept and
    tried again until it does; nothing is raised (the change is committed)."""
    redis = purge_redis()
    if redis is None:
        purge_sender().send(keys).wait(PURGE_WAIT)
        return
    try:
        purge_in_redis(redis, keys)
    except PurgeNotDelivered as error:
        purge_sender().keep(keys, str(error))
    except Exception as error:  # the change is committed: its answer must go out
        purge_sender().keep(keys, f"{type(error).__name__}: {error}")
