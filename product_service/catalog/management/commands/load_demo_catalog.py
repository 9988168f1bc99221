"""Load a small demo catalog; idempotent (existing SKUs are left as they are)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from product_service.catalog.models import Product
from product_service.catalog.services import product_create

DEMO_CATALOG = [
    ("KB-001", "Mechanical keyboard", "Tenkeyless, hot-swappable switches.", "89.90", 25),
    ("MS-001", "Wireless mouse", "Six buttons, 70 hours on one charge.", "34.50", 40),
    ("MN-027", "27-inch monitor", "2560 x 1440, 144 Hz, IPS.", "279.00", 8),
    ("HS-001", "Headset", "Closed-back, detachable microphone.", "59.00", 15),
    ("CB-USB-C", "USB-C cable", "1 m, 100 W.", "9.90", 200),
    ("DK-001", "Laptop dock", "Two displays, Ethernet, 90 W charging.", "149.00", 5),
    ("WC-001", "Webcam", "1080p, privacy shutter.", "45.00", 12),
    ("MP-XL", "Desk mat", "90 x 40 cm.", "19.50", 60),
    ("SSD-1T", "External SSD 1 TB", "USB 3.2 Gen 2.", "99.00", 0),
    ("LMP-001", "Desk lamp", "Dimmable, warm to cold white.", "39.00", 20),
]


class Command(BaseCommand):
    help = "Create the demo products that are missing (by SKU); running it again changes nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        existing = set(Product.objects.values_list("sku", flat=True))
        created = 0
        with transaction.atomic():
            for sku, name, description, price, stock in DEMO_CATALOG:
                if sku in existing:
                    continue
                product_create(
                    sku=sku, name=name, description=description, price=Decimal(price), stock=stock
                )
                created += 1
        kept = len(DEMO_CATALOG) - created
        self.stdout.write(f"demo catalog: {created} product(s) created, {kept} already there")
