"""Read-side queries of the order service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from order_service.orders.models import Order


def user_id_of(user: Any) -> int:
    """The user id of a request's (token) user."""
    return int(user.id)


def order_list(*, user: Any) -> QuerySet[Order]:
    """Staff see every order; anyone else only their own (others' do not exist for them).

    A failed order is not shown to its owner: the answer they got said nothing was
    ordered (staff still see it, with its failure reason, to investigate).
    """
    queryset = Order.objects.prefetch_related("items")
    if getattr(user, "is_staff", False):
        return queryset
    return queryset.filter(user_id=user_id_of(user)).exclude(status=Order.Status.FAILED)
