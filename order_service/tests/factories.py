from __future__ import annotations

from decimal import Decimal

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
