"""The product service's internal reservation API, as the order service uses it.

Every answer becomes one of a few outcomes; HTTP details stay here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from common.identity.service_client import ServiceTimeout, ServiceUnavailable, client_for

logger = logging.getLogger(__name__)

SERVICE = "products"


@dataclass(frozen=True)
class ReservedItem:
    product_id: int
    name: str
    unit_price: Decimal
    quantity: int


@dataclass
class Reserved:
    items: list[ReservedItem]


@dataclass
class Rejected:
    """A definite no: nothing was reserved (409 insufficient stock, 400 unknown product)."""

    status: int
    detail: str
    body: dict[str, Any] = field(default_factory=dict)
    # The service client sent a copy before to an instance that did not answer: it may
    # still land there, after this refusal, and reserve (a refused order_ref may try again
    # at the product service). Something may be held, then, after all.
    copy_in_flight: bool = False


@dataclass
class Unavailable:
    """No answer we can trust (down, timeout, 5xx, nonsense): something may be reserved."""

    reason: str
    timed_out: bool = False


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reserved_items(body: dict[str, Any], wanted: dict[int, int]) -> list[ReservedItem] | None:
    """The items of a reservation answer, or None when it does not match what was asked."""
    try:
        items = [
            ReservedItem(
                product_id=int(item["product_id"]),
                name=str(item["name"]),
                unit_price=Decimal(str(item["unit_price"])),
                quantity=int(item["quantity"]),
            )
            for item in body["items"]
        ]
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return None
    if {item.product_id: item.quantity for item in items} != wanted or len(items) != len(wanted):
        return None
    order = list(wanted)
    return sorted(items, key=lambda item: order.index(item.product_id))


def stock_reserve(*, order_ref: str, items: dict[int, int]) -> Reserved | Rejected | Unavailable:
    """Reserve all `items` ({product_id: quantity}) for `order_ref`, all or nothing.

    Repeating it with the same order_ref is safe: the product service answers the same.
    """
    payload = {
        "order_ref": order_ref,
        "items": [{"product_id": pid, "quantity": qty} for pid, qty in items.items()],
    }
    try:
        # The order_ref is the call's idempotency key: it may go to another instance.
        response = client_for(SERVICE).post("/internal/reservations", json=payload, idempotent=True)
    except ServiceTimeout:
        return Unavailable("products timed out", timed_out=True)
    except ServiceUnavailable:
        return Unavailable("products unreachable")
    if response.status_code in (200, 201):
        reserved = _reserved_items(_problem(response), items)
        if reserved is None:
            logger.error("reservation %s: unexpected answer %s", order_ref, response.text[:500])
            return Unavailable("unexpected reservation answer")
        return Reserved(reserved)
    body = _problem(response)
    insufficient = response.status_code == 409 and str(body.get("type", "")).endswith(
        "insufficient-stock"
    )
    if insufficient or response.status_code == 400:
        # A copy sent before to an instance that did not answer may still land there.
        resent = getattr(response, "copies_unanswered", 0) > 0
        return Rejected(response.status_code, str(body.get("detail") or ""), body, resent)
    logger.warning("reservation %s: products answered %s", order_ref, response.status_code)
    return Unavailable(f"products answered {response.status_code}")


class ReleaseResult:
    RELEASED = "released"  # the product service released it (or had already)
    UNKNOWN = "unknown"  # 404: the product service holds no reservation with that ref
    FAILED = "failed"  # not delivered; try again later


def stock_release(*, order_ref: str) -> str:
    """Release the reservation `order_ref`; idempotent at the product service."""
    path = f"/internal/reservations/{quote(order_ref, safe='')}/release"
    try:
        response = client_for(SERVICE).post(path, json={}, idempotent=True)
    except ServiceUnavailable as error:  # ServiceTimeout included
        logger.warning("release %s not delivered: %s", order_ref, error.detail)
        return ReleaseResult.FAILED
    if response.status_code == 200:
        return ReleaseResult.RELEASED
    if response.status_code == 404:
        return ReleaseResult.UNKNOWN
    logger.warning("release %s: products answered %s", order_ref, response.status_code)
    return ReleaseResult.FAILED
