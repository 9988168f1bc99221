"""The order service's representations, and the shape of a request to place an order."""

from __future__ import annotations

from rest_framework import serializers

from common.http.fields import StrictIntegerField
from order_service.orders.exceptions import OrderQuantityTooLarge
from order_service.orders.models import Order, OrderItem
from order_service.orders.services import order_lines_merge

MAX_LINES = 50
MAX_QUANTITY = 1_000_000
MAX_ID = 2**63 - 1  # product ids are BIGINT at the product service


class OrderItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ("product_id", "name", "unit_price", "quantity")
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ("id", "user_id", "status", "items", "total", "created_at")
        read_only_fields = fields


class OrderLineSerializer(serializers.Serializer):
    product_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderCreateSerializer(serializers.Serializer):
    # (many=True makes a ListSerializer, which takes the lengths: not in the stubs)
    items = OrderLineSerializer(many=True, min_length=1, max_length=MAX_LINES)  # type: ignore[call-arg]

    def validate_items(self, items: list[dict]) -> list[dict]:
        if any(quantity > MAX_QUANTITY for quantity in order_lines_merge(items).values()):
            raise OrderQuantityTooLarge(f"At most {MAX_QUANTITY} units of one product per order.")
        return items
