"""Products, their stock, and the reservations orders hold on it.

Every unit is accounted for: for each product,
`stock + units held by unreleased reservations == units_received`, where
`units_received` counts the units staff ever put in stock (less those they took out).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    units_received = models.IntegerField(
        default=0,
        editable=False,
        help_text="Units ever put in stock by staff; stock + units held == units received.",
    )
    is_active = models.BooleanField(default=True)
    # Set by DELETE /products/{id}: the product leaves the API (staff included) and stays
    # in the database, where orders and reservations still name it; the admin restores it.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_gte_0"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_gte_0"),
            models.CheckConstraint(
                condition=Q(units_received__gte=0), name="product_units_received_gte_0"
            ),
        ]
        indexes = [
            # The public list: active products in id order (cursor pages walk this index).
            models.Index(fields=["is_active", "id"], name="product_active_id_idx"),
            # ?in_stock=true: active products with stock, in id order.
            models.Index(
                fields=["id"],
                condition=Q(is_active=True, stock__gt=0),
                name="product_in_stock_idx",
            ),
            # ?min_price=&max_price=
            models.Index(fields=["price", "id"], name="product_price_idx"),
            # Text search on PostgreSQL: trigram GIN indexes made in migration 0002.
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Reservation(models.Model):
    """Stock held for one order; `order_ref` makes reserving and releasing idempotent."""

    order_ref = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The invariant's check sums the items of unreleased reservations.
            models.Index(
                fields=["id"], condition=Q(released_at__isnull=True), name="reservation_held_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.order_ref


class ReservationItem(models.Model):
    """One product line of a reservation, with its name and unit price when reserved."""

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["product_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "product"], name="reservation_item_product_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_item_qty_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"
