"""Representations: the product of the contract, and the internal reservation API's bodies."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from common.http.fields import (
    StrictCharField,
    StrictDecimalField,
    StrictIntegerField,
    StrictTypesMixin,
)
from product_service.catalog.models import Product, Reservation, ReservationItem

# Stock columns are 32-bit integers on PostgreSQL: a larger count cannot be stored.
MAX_STOCK = 2**31 - 1


class ProductSerializer(StrictTypesMixin, serializers.ModelSerializer):
    sku = StrictCharField(
        max_length=64, validators=[UniqueValidator(queryset=Product.objects.all())]
    )
    price = StrictDecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"))
    stock = StrictIntegerField(min_value=0, max_value=MAX_STOCK)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "description",
            "price",
            "stock",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


# Ids are BIGINT: a larger number names no product, and the database cannot take it.
MAX_ID = 2**63 - 1


class ReservationLineSerializer(serializers.Serializer):
    product_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)


class ReservationRequestSerializer(serializers.Serializer):
    order_ref = StrictCharField(max_length=100)
    items = serializers.ListField(child=ReservationLineSerializer(), min_length=1, max_length=100)


class ReservationItemSerializer(serializers.ModelSerializer):
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        model = ReservationItem
        fields = ["product_id", "name", "unit_price", "quantity"]


class ReservationSerializer(serializers.ModelSerializer):
    items = ReservationItemSerializer(many=True)

    class Meta:
        model = Reservation
        fields = ["order_ref", "items"]


class ReleasedReservationSerializer(ReservationSerializer):
    status = serializers.SerializerMethodField()

    class Meta(ReservationSerializer.Meta):
        fields = ["order_ref", "status", "items"]

    def get_status(self, reservation: Reservation) -> str:
        return "released"
