"""The catalog's write rules: products, stock adjustments, reservations.

Stock only ever changes by a difference applied in the database (`F("stock") + delta`),
never by writing back a value read earlier, so a staff edit cannot race a reservation
into losing or inventing units.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import exceptions

from product_service.catalog.cache import products_changed
from product_service.catalog.exceptions import (
    InsufficientStock,
    OrderRefReused,
    StockCountTooLarge,
    StockWouldGoNegative,
    UnknownProducts,
)
from product_service.catalog.models import Product, Reservation, ReservationItem


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int


def reservation_lines_merge(lines: Iterable[Line]) -> list[Line]:
    """One line per product (quantities added), in product id order: the lock order."""
    totals: Counter[int] = Counter()
    for line in lines:
        totals[line.product_id] += line.quantity
    return [Line(product_id=pid, quantity=qty) for pid, qty in sorted(totals.items())]


# Products


def product_create(*, sku: str, name: str, price: Any, stock: int = 0, **fields: Any) -> Product:
    """A new product; its initial stock counts as received."""
    product = Product(sku=sku, name=name, price=price, stock=stock, units_received=stock, **fields)
    product.full_clean()
    try:
        with transaction.atomic():
            product.save()
            products_changed([product.pk])
    except IntegrityError as error:  # a concurrent create took the SKU after full_clean
        if Product.objects.filter(sku=sku).exists():
            raise exceptions.ValidationError({"sku": ["This field must be unique."]}) from error
        raise
    return product


MAX_COUNT = 2_147_483_647  # PositiveIntegerField's largest on every database


def product_stock_adjust(*, product_id: int, delta: int) -> None:
    """Add (or, negative, remove) units in one conditional UPDATE.

    Reservations may move the stock between the caller's read and this write; the
    difference still applies exactly once, and never takes the stock below zero.
    """
    if delta == 0:
        return
    # The counts are 32-bit integers in the database: past the largest, a 409, not a 500.
    within = {"units_received__lte": MAX_COUNT - delta} if delta > 0 else {}
    updated = Product.objects.filter(pk=product_id, stock__gte=-delta, **within).update(
        stock=F("stock") + delta,
        units_received=F("units_received") + delta,
        updated_at=timezone.now(),
    )
    if not updated:
        if not Product.objects.filter(pk=product_id).exists():
            raise exceptions.NotFound()
        if delta > 0:
            raise StockCountTooLarge()
        raise StockWouldGoNegative()
    products_changed([product_id])


def product_update(*, product: Product, data: dict[str, Any]) -> Product:
    """Write the given fields; a new `stock` is applied as its difference from `product.stock`."""
    seen_stock = product.stock
    fields = {name: value for name, value in data.items() if name != "stock"}
    with transaction.atomic():
        if fields:
            for name, value in fields.items():
                setattr(product, name, value)
            product.save(update_fields=[*fields, "updated_at"])
            products_changed([product.pk])
        if "stock" in data:
            product_stock_adjust(product_id=product.pk, delta=data["stock"] - seen_stock)
    product.refresh_from_db()
    return product


def product_delete(*, product: Product) -> None:
    """Soft delete: gone from the API, kept for the reservations and orders that name it."""
    now = timezone.now()
    Product.objects.filter(pk=product.pk).update(is_active=False, deleted_at=now, updated_at=now)
    products_changed([product.pk])


def product_restore(*, product: Product) -> None:
    """Undo a delete (the admin's action): back in the API, inactive until staff say so."""
    Product.objects.filter(pk=product.pk).update(deleted_at=None, updated_at=timezone.now())
    products_changed([product.pk])


# Reservations


def stock_reserve(*, order_ref: str, items: list[Line]) -> tuple[Reservation, bool]:
    """Hold stock for every line or for none; like get_or_create, says whether it reserved.

    Idempotent by `order_ref`: a repeat (even a concurrent one) returns the first
    reservation and takes nothing. Rows are locked in product id order, so two orders
    never deadlock; each UPDATE is also conditional on `stock >= quantity`.
    """
    lines = reservation_lines_merge(items)
    existing = _reservation_for(order_ref, lines)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            # The unique order_ref is claimed first: a concurrent twin waits here (PostgreSQL)
            # or for the whole transaction (SQLite, IMMEDIATE), then finds this one.
            reservation = Reservation.objects.create(order_ref=order_ref)
            _take_stock(reservation, lines)
    except IntegrityError:
        existing = _reservation_for(order_ref, lines)
        if existing is None:
            raise
        return existing, False
    return reservation, True


def _reservation_for(order_ref: str, lines: list[Line]) -> Reservation | None:
    reservation = Reservation.objects.filter(order_ref=order_ref).prefetch_related("items").first()
    if reservation is None:
        return None
    held = [Line(item.product_id, item.quantity) for item in reservation.items.all()]
    if held != lines:
        raise OrderRefReused()
    return reservation


def _take_stock(reservation: Reservation, lines: list[Line]) -> None:
    ids = [line.product_id for line in lines]
    products = {
        product.pk: product
        for product in Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    unknown = [pid for pid in ids if pid not in products or not products[pid].is_active]
    if unknown:
        raise UnknownProducts(unknown)
    short = []
    for line in lines:
        taken = Product.objects.filter(pk=line.product_id, stock__gte=line.quantity).update(
            stock=F("stock") - line.quantity
        )
        if not taken:
            short.append(
                {
                    "product_id": line.product_id,
                    "requested": line.quantity,
                    "available": products[line.product_id].stock,  # locked: current
                }
            )
    if short:
        raise InsufficientStock(short)  # rolls back every line already taken
    ReservationItem.objects.bulk_create(
        ReservationItem(
            reservation=reservation,
            product_id=line.product_id,
            name=products[line.product_id].name,
            unit_price=products[line.product_id].price,
            quantity=line.quantity,
        )
        for line in lines
    )
    products_changed(ids)


def stock_release(*, order_ref: str) -> Reservation:
    """Give the reserved units back, once: a repeat (even concurrent) returns nothing twice."""
    reservation = Reservation.objects.filter(order_ref=order_ref).first()
    if reservation is None:
        raise exceptions.NotFound(f"No reservation {order_ref!r}.")
    now = timezone.now()
    with transaction.atomic():
        claimed = Reservation.objects.filter(pk=reservation.pk, released_at__isnull=True).update(
            released_at=now
        )
        if claimed:
            items = list(reservation.items.order_by("product_id"))
            for item in items:
                Product.objects.filter(pk=item.product_id).update(stock=F("stock") + item.quantity)
            products_changed(item.product_id for item in items)
    reservation.refresh_from_db()
    return reservation
