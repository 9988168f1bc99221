"""The catalog's reads: what each caller may see, and the stock invariant's check."""

from __future__ import annotations

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from product_service.catalog.models import Product, ReservationItem

# Built once: cloning a queryset costs a fraction of building its filter (docs/performance.md,
# "Why the misses remain": the product list's querysets).
_ALL_PRODUCTS = Product.objects.filter(deleted_at__isnull=True)
_ACTIVE_PRODUCTS = Product.objects.filter(is_active=True)  # a deleted product is inactive


def product_list(*, include_inactive: bool = False) -> QuerySet[Product]:
    """Products a caller may see: staff see inactive ones too; nobody a deleted one."""
    return (_ALL_PRODUCTS if include_inactive else _ACTIVE_PRODUCTS).all()


def units_held() -> Coalesce:
    """Units of a product (the outer row) held by unreleased reservations."""
    held = (
        ReservationItem.objects.filter(
            product_id=OuterRef("pk"), reservation__released_at__isnull=True
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def stock_discrepancies() -> QuerySet[Product]:
    """Products where stock + units held != units received: empty when all is accounted for."""
    return (
        Product.objects.annotate(held=units_held())
        .exclude(units_received=F("stock") + F("held"))
        .order_by("pk")
    )
