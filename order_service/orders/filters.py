"""What staff may filter the order list by."""

from __future__ import annotations

import django_filters

from common.http.filters import IntegerFilter, StrictFilterSet
from order_service.orders.models import Order


class OrderFilter(StrictFilterSet):
    user_id = IntegerFilter(field_name="user_id")
    status = django_filters.ChoiceFilter(field_name="status", choices=Order.Status.choices)

    class Meta:
        model = Order
        fields = ("user_id", "status")
