"""Business rules of the order service: placing, cancelling and reconciling orders.

Placing an order is a small saga across two databases:

1. record the order as `pending` (its UUID is the reservation's `order_ref`);
2. reserve every item at the product service (all or nothing, idempotent per order_ref);
3. confirm the order with the reservation's name and price snapshots, or fail it.

No database transaction is held open across an HTTP call. Every failure path releases
what may have been reserved; a release that cannot be delivered leaves the order with
`stock = release_pending`, and the `reconcile` command delivers it later. Orders stuck in
`pending` (a crash between 2 and 3) are failed and released by the same command.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException

from order_service.orders import products
from order_service.orders.exceptions import (
    IdempotencyKeyInUse,
    IdempotencyKeyMismatch,
    InsufficientStock,
    OrderNotCancellable,
    OrderStillPending,
    OrderTotalTooLarge,
    ProductsUnavailable,
    UnknownProduct,
    error_from_stored,
    stored_error,
    stored_status,
)
from order_service.orders.models import Order, OrderItem

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
_TOTAL = Order._meta.get_field("total")
# The largest total an order can record: 999999999999.99 for DECIMAL(14, 2).
MAX_TOTAL = Decimal(10) ** (_TOTAL.max_digits - _TOTAL.decimal_places) - CENT


@dataclass(frozen=True)
class PlaceResult:
    """The answer to POST /orders: the order's representation, first-time or replayed."""

    order_id: UUID
    body: dict[str, Any]
    replayed: bool = False


def order_lines_merge(items: Iterable[Mapping[str, int]]) -> dict[int, int]:
    """{product_id: quantity}, duplicate lines added up, in order of first appearance."""
    merged: dict[int, int] = {}
    for item in items:
        product_id = int(item["product_id"])
        merged[product_id] = merged.get(product_id, 0) + int(item["quantity"])
    return merged


def order_request_fingerprint(items: Mapping[int, int]) -> str:
    """What an Idempotency-Key is bound to: the merged request, whatever its line order."""
    canonical = json.dumps(sorted(items.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def pending_timeout() -> timedelta:
    return timedelta(seconds=settings.ORDERS_PENDING_TIMEOUT)


def order_representation(order: Order) -> dict[str, Any]:
    from order_service.orders.serializers import OrderSerializer

    # Through JSON once: what is stored for replays is exactly what was sent.
    return json.loads(json.dumps(OrderSerializer(order).data))


# --- placing -----------------------------------------------------------------------------


def order_place(
    *, user_id: int, items: Iterable[Mapping[str, int]], idempotency_key: str | None = None
) -> PlaceResult:
    """Place an order for `user_id`: reserve the stock, confirm with the snapshots.

    With an `idempotency_key`, a repeat of the same request by the same user answers
    what the first one answered and creates nothing; a different request with the key
    raises IdempotencyKeyMismatch; one while the first is still running IdempotencyKeyInUse.
    """
    wanted = order_lines_merge(items)
    fingerprint = order_request_fingerprint(wanted)
    if idempotency_key:
        existing = Order.objects.filter(user_id=user_id, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                user_id=user_id,
                idempotency_key=idempotency_key or "",
                request_fingerprint=fingerprint,
            )
    except IntegrityError:
        # Another request with this key got in first: answer as a repeat of it.
        existing = Order.objects.filter(user_id=user_id, idempotency_key=idempotency_key).first()
        if existing is None:  # released again in the meantime (its attempt failed)
            raise IdempotencyKeyInUse() from None
        return _replay(existing, fingerprint)

    outcome = products.stock_reserve(order_ref=str(order.id), items=wanted)
    if isinstance(outcome, products.Reserved):
        return _confirm_or_release(order.id, outcome.items)
    if isinstance(outcome, products.Rejected):
        error: APIException
        if outcome.status == 409:
            error = InsufficientStock(outcome.detail or None, items=_stock_items(outcome.body))
        else:
            error = UnknownProduct({"items": _unknown_messages(outcome)})
        # A copy still in flight may yet reserve: reconcile releases it, or settles on the
        # product service's "no such reservation" once the pending timeout is past.
        _fail(
            order.id,
            outcome.detail or error.default_code,
            stored=stored_error(error),
            release=outcome.copy_in_flight,
        )
        raise error
    # No trustworthy answer: something may be reserved. Fail, free the key, release.
    _fail(order.id, outcome.reason, release=True)
    _release(order.id)
    raise ProductsUnavailable()


def _unknown_messages(outcome: products.Rejected) -> list[str]:
    errors = outcome.body.get("errors")
    messages = errors.get("items") if isinstance(errors, dict) else None
    if isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        return messages
    return [outcome.detail or "Unknown or inactive product."]


def _stock_items(body: dict[str, Any]) -> list:
    items = body.get("items")
    return items if isinstance(items, list) else []


def _replay(order: Order, fingerprint: str) -> PlaceResult:
    if order.request_fingerprint != fingerprint:
        raise IdempotencyKeyMismatch()
    if order.response_status is None:
        raise IdempotencyKeyInUse()
    if order.response_status >= 400:
        raise error_from_stored(order.response_body or {})
    # a stored answer (response_status is set): its body was stored with it
    return PlaceResult(order.id, cast(dict[str, Any], order.response_body), replayed=True)


def order_total(reserved: Iterable[products.ReservedItem]) -> Decimal:
    return sum(((item.unit_price * item.quantity) for item in reserved), Decimal(0)).quantize(CENT)


def _confirm_or_release(order_id: UUID, reserved: list[products.ReservedItem]) -> PlaceResult:
    """Confirm what was reserved; on any failure first release it (nothing stays held).

    The total is checked before anything is written: prices are known only now, from
    the reservation's snapshots, and price * quantity can exceed what Order.total holds.
    """
    total = order_total(reserved)
    if total > MAX_TOTAL:
        error = OrderTotalTooLarge({"items": [f"The order's total may be at most {MAX_TOTAL}."]})
        _fail(order_id, "total too large", stored=stored_error(error), release=True)
        _release(order_id)
        raise error
    try:
        return _confirm(order_id, reserved, total)
    except ProductsUnavailable:
        raise  # _confirm released already
    except Exception:
        logger.exception("order %s: confirming failed; releasing its reservation", order_id)
        _fail(order_id, "confirming failed", release=True)
        _mark_release_pending(order_id)
        _release(order_id)
        raise


def _confirm(order_id: UUID, reserved: list[products.ReservedItem], total: Decimal) -> PlaceResult:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == Order.Status.PENDING:
            OrderItem.objects.bulk_create(
                OrderItem(
                    order=order,
                    product_id=item.product_id,
                    name=item.name[:255],
                    unit_price=item.unit_price,
                    quantity=item.quantity,
                )
                for item in reserved
            )
            order.total = total
            order.status = Order.Status.CONFIRMED
            order.stock = Order.Stock.RESERVED
            order.response_status = 201
            order.response_body = order_representation(order)
            order.save()
            return PlaceResult(order.id, order.response_body)
    # Failed meanwhile (reconcile judged it stuck): it must not come back to life.
    logger.warning("order %s was %s before its reservation came back", order_id, order.status)
    _mark_release_pending(order_id)
    _release(order_id)
    raise ProductsUnavailable("The order took too long to place; nothing was ordered.")


def _fail(
    order_id: UUID, reason: str, *, stored: dict[str, Any] | None = None, release: bool = False
) -> None:
    """pending → failed. A stored error is replayed to retries; otherwise the key is freed."""
    changes: dict[str, Any] = {
        "status": Order.Status.FAILED,
        "failure_reason": reason[:255],
        "updated_at": timezone.now(),
    }
    if stored is not None:
        changes.update(response_status=stored_status(stored))
        changes.update(response_body=stored)
    else:
        changes["idempotency_key"] = ""
    if release:
        changes["stock"] = Order.Stock.RELEASE_PENDING
    Order.objects.filter(pk=order_id, status=Order.Status.PENDING).update(**changes)


def _mark_release_pending(order_id: UUID) -> None:
    # Even if it was "released" before: the reservation has just been made.
    Order.objects.filter(pk=order_id).update(
        stock=Order.Stock.RELEASE_PENDING, updated_at=timezone.now()
    )


def _release(order_id: UUID, *, now: datetime | None = None) -> bool:
    """Deliver a pending release; True once the product service holds nothing for it.

    A 404 ("no such reservation") settles it when the reservation surely exists or
    can no longer appear: the order was confirmed, or it is older than the pending
    timeout (a reserve call that timed out may still be on its way until then).
    """
    result = products.stock_release(order_ref=str(order_id))
    if result == products.ReleaseResult.FAILED:
        return False
    if result == products.ReleaseResult.UNKNOWN:
        order = Order.objects.filter(pk=order_id).only("status", "created_at").first()
        if order is None:
            return False
        settled = order.status == Order.Status.CANCELLED or order.created_at < (
            (now or timezone.now()) - pending_timeout()
        )
        if not settled:
            return False
    Order.objects.filter(pk=order_id, stock=Order.Stock.RELEASE_PENDING).update(
        stock=Order.Stock.RELEASED, updated_at=timezone.now()
    )
    return True


# --- cancelling --------------------------------------------------------------------------


def order_cancel(*, order_id: UUID) -> Order:
    """Cancel a confirmed order and release its stock; cancelling again changes nothing.

    The order is cancelled even when the product service cannot be reached right now:
    the release is then left to `reconcile`.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == Order.Status.PENDING:
            raise OrderStillPending()
        if order.status == Order.Status.FAILED:
            raise OrderNotCancellable("A failed order has nothing to cancel.")
        if order.status == Order.Status.CONFIRMED:
            order.status = Order.Status.CANCELLED
            order.stock = Order.Stock.RELEASE_PENDING
            order.save(update_fields=["status", "stock", "updated_at"])
            cancelled_now = True
        else:
            cancelled_now = False
    if cancelled_now:
        _release(order.id)
    return Order.objects.prefetch_related("items").get(pk=order_id)


# --- reconciling -------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    failed_pending: list[UUID] = field(default_factory=list)
    released: list[UUID] = field(default_factory=list)
    still_pending_release: list[UUID] = field(default_factory=list)


def order_reconcile(*, now: datetime | None = None) -> ReconcileReport:
    """Fail orders pending longer than ORDERS_PENDING_TIMEOUT; deliver pending releases.

    Safe to run at any time, and several at once: every step is idempotent.
    """
    now = now or timezone.now()
    report = ReconcileReport()
    stale = Order.objects.filter(
        status=Order.Status.PENDING, created_at__lt=now - pending_timeout()
    ).values_list("pk", flat=True)
    for order_id in list(stale):
        changed = Order.objects.filter(pk=order_id, status=Order.Status.PENDING).update(
            status=Order.Status.FAILED,
            stock=Order.Stock.RELEASE_PENDING,
            failure_reason="still pending after the pending timeout",
            idempotency_key="",
            updated_at=timezone.now(),
        )
        if changed:
            logger.warning("order %s was stuck pending: failed", order_id)
            report.failed_pending.append(order_id)
    to_release = Order.objects.filter(stock=Order.Stock.RELEASE_PENDING).values_list(
        "pk", flat=True
    )
    for order_id in list(to_release):
        if _release(order_id, now=now):
            report.released.append(order_id)
        else:
            report.still_pending_release.append(order_id)
    return report
