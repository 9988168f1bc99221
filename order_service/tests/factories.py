"""Orders for tests (factory_boy), and the representation an answer must equal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory

from order_service.orders.models import Order, OrderItem


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    user_id = 1
    status = Order.Status.CONFIRMED
    stock = Order.Stock.RESERVED
    total = Decimal("0.00")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product_id = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Product {n + 1}")
    unit_price = Decimal("10.00")
    quantity = 1


def confirmed_order(*, user_id: int = 1, lines: tuple = ((1, "Widget", "2.50", 2),)) -> Order:
    """A confirmed order with the given (product_id, name, unit_price, quantity) lines."""
    order = OrderFactory(user_id=user_id)
    total = Decimal(0)
    for product_id, name, price, quantity in lines:
        OrderItemFactory(
            order=order,
            product_id=product_id,
            name=name,
            unit_price=Decimal(price),
            quantity=quantity,
        )
        total += Decimal(price) * quantity
    order.total = total
    order.save()
    return order


# The line confirmed_order() makes unless told otherwise, as the API shows it.
WIDGET_LINE = {"product_id": 1, "name": "Widget", "unit_price": "2.50", "quantity": 2}


def expected_order(
    order: Order,
    *,
    user_id: int = 1,
    status: str = "confirmed",
    items: list[dict[str, Any]] | None = None,
    total: str = "5.00",
) -> dict[str, Any]:
    """The JSON an answer about `order` must equal: the id and creation time the row got,
    the rest as the test states it (defaults: confirmed_order()'s)."""
    return {
        "id": str(order.id),
        "user_id": user_id,
        "status": status,
        "items": [WIDGET_LINE] if items is None else items,
        "total": total,
        "created_at": order.created_at.isoformat().replace("+00:00", "Z"),
    }
