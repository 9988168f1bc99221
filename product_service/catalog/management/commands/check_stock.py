"""Verify that every unit is accounted for; exits non-zero naming the products that are not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from product_service.catalog.selectors import stock_discrepancies


class Command(BaseCommand):
    help = "Check stock + units held by unreleased reservations == units received, per product."

    def handle(self, *args: Any, **options: Any) -> None:
        wrong = [
            f"{p.sku} (id {p.pk}): stock {p.stock} + held {p.held} != received {p.units_received}"  # type: ignore[attr-defined]
            for p in stock_discrepancies()
        ]
        if wrong:
            raise CommandError("stock not accounted for:\n" + "\n".join(wrong))
        self.stdout.write("stock accounted for: every product's units add up")
