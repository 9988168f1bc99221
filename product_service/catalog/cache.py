"""What the gateway's response cache needs from the catalog: headers and purges.

Reads say who may keep them (`Cache-Control`: public for everyone but staff, who see
inactive products) and which data they show (`Surrogate-Key`: `products` on list pages,
`product-<id>` on a product). Every change names the keys it makes stale and, once its
transaction has committed, purges them at the gateway (`POST /internal/cache/purge`,
service token), before the change's own answer goes out: a read after it is fresh.
Without GATEWAY_INTERNAL_URL nothing is sent.

The purge is sent by one sender thread per process and the writer waits for it
PURGE_WAIT at most. A gateway whose threads are all busy forwarding writes that wait on
this service (orders at 32 connections reserve stock here) would otherwise hold every
one of those writes for the purge's timeout: the writer answers after PURGE_WAIT, and
the purge still lands once a gateway thread is free (purges waiting meanwhile are sent
as one).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db import transaction
from rest_framework.request import Request
from rest_framework.response import Response

from common.identity.auth import own_service_token
from common.identity.service_client import ServiceClient, ServiceUnavailable
from common.settings.namespaces import common_settings, on_settings_change

logger = logging.getLogger(__name__)

# Public answers may be kept this long (the gateway also caps it by its route setting).
PUBLIC_MAX_AGE = 30
# How long a writer waits for its purge before answering (the purge still lands).
PURGE_WAIT = 0.1
# The sender's own bounds; a failure only logs (entries then live out their max-age).
PURGE_TIMEOUT = (0.5, 5.0)
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
    """Ask the gateway to drop these keys, waiting PURGE_WAIT at most for it to answer;
    a failure is logged, never raised (the change is committed)."""
    _sender().send(keys).wait(PURGE_WAIT)


class _PurgeSender:
    """One thread sending the purges of this process; keys queued while it waits on the
    gateway go out together, and every writer waiting for them is told when they did."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}
        self._done: list[threading.Event] = []
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="cache-purge", daemon=True).start()

    def send(self, keys: list[str]) -> threading.Event:
        done = threading.Event()
        with self._lock:
            self._pending.update(dict.fromkeys(keys))
            self._done.append(done)
        self._wake.set()
        return done

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                self._wake.clear()
                keys, self._pending = list(self._pending), {}
                done, self._done = self._done, []
            try:
                send_purge(keys)
            except Exception:  # the thread must outlive any one purge
                logger.exception("cache purge of %s failed", keys)
            finally:
                for event in done:
                    event.set()


_senders: dict[int, _PurgeSender] = {}
_senders_lock = threading.Lock()


def _sender() -> _PurgeSender:
    """This process's sender (a forked worker starts its own)."""
    pid = os.getpid()
    with _senders_lock:
        if pid not in _senders:
            _senders[pid] = _PurgeSender()
        return _senders[pid]


def send_purge(keys: list[str]) -> None:
    """POST the keys to the gateway, MAX_KEYS_PER_PURGE at a time."""
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
