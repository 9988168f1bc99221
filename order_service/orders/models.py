"""Orders and their lines. Users and products live in other services: ids only, no FKs."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    class Stock(models.TextChoices):
        """Where the order's reservation at the product service stands."""

        NONE = "none", "Nothing reserved"
        RESERVED = "reserved", "Reserved"
        RELEASE_PENDING = "release_pending", "Release pending"
        RELEASED = "released", "Released"

    # The public id, and the order_ref of the reservation at the product service.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by orders_user_created_id_idx (its first column): a second index on user_id
    # alone let the planner pick it and sort a large user's orders for every page.
    user_id = models.BigIntegerField(help_text="Id of the user (user service).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stock = models.CharField(max_length=16, choices=Stock.choices, default=Stock.NONE)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # Idempotency-Key of the POST that placed it (per user), the fingerprint of that
    # request's body, and the answer it got, replayed to retries with the same key.
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("user_id", "idempotency_key"),
                condition=~Q(idempotency_key=""),
                name="orders_order_unique_user_idempotency_key",
            ),
        ]
        indexes = [
            # A user's list in its page order (-created_at, -id): the first page reads 21
            # index entries whatever the number of orders, with no sort of the rest.
            models.Index(
                fields=("user_id", "-created_at", "-id"), name="orders_user_created_id_idx"
            ),
            models.Index(fields=("status", "created_at"), name="orders_status_created_idx"),
            models.Index(fields=("stock",), name="orders_stock_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.id} ({self.status})"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, related_name="items", on_delete=models.CASCADE)
    product_id = models.BigIntegerField(help_text="Id of the product (product service).")
    # Snapshots taken when the stock was reserved: later catalog edits do not change them.
    name = models.CharField(max_length=255)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=("order", "product_id"), name="orders_item_unique_product"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_item_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"
