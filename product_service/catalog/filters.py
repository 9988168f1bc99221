"""Query parameters of GET /products."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from product_service.catalog.models import Product


class ProductFilter(filters.FilterSet):
    min_price = filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = filters.NumberFilter(field_name="price", lookup_expr="lte")
    in_stock = filters.BooleanFilter(method="filter_in_stock", label="In stock")
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
