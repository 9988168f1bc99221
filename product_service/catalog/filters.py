"""Query parameters of GET /products."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from common.http.filters import BoundedNumberFilter, StrictFilterSet, TrueFalseFilter
from product_service.catalog.models import Product

# A price is 0 to 99,999,999.99 (the column's 10 digits, 2 after the point).
_PRICES = {"min_value": Decimal("0"), "max_value": Decimal("99999999.99")}


class ProductFilter(StrictFilterSet):
    min_price = BoundedNumberFilter(field_name="price", lookup_expr="gte", **_PRICES)
    max_price = BoundedNumberFilter(field_name="price", lookup_expr="lte", **_PRICES)
    in_stock = TrueFalseFilter(method="filter_in_stock", label="In stock")
    search = filters.CharFilter(method="filter_search", label="Text in name or SKU")

    class Meta:
        model = Product
        fields = ["min_price", "max_price", "in_stock", "search"]

    def filter_in_stock(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock=0)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # icontains is UPPER(col) LIKE UPPER(%s) on PostgreSQL: trigram indexes serve it.
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(sku__icontains=value))
