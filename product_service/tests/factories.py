from decimal import Decimal

import factory

from product_service.catalog.models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    description = ""
    price = Decimal("12.50")
    stock = 10
    units_received = factory.SelfAttribute("stock")
    is_active = True
