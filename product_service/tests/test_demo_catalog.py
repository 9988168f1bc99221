from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from product_service.catalog import selectors
from product_service.catalog.management.commands.load_demo_catalog import DEMO_CATALOG
from product_service.catalog.models import Product

pytestmark = pytest.mark.django_db


def test_load_demo_catalog_is_idempotent_and_keeps_stock_changes():
    call_command("load_demo_catalog")
    Product.objects.filter(sku=DEMO_CATALOG[0][0]).update(stock=1, units_received=1)

    call_command("load_demo_catalog")

    assert Product.objects.count() == len(DEMO_CATALOG)
    assert Product.objects.get(sku=DEMO_CATALOG[0][0]).stock == 1
    assert not selectors.stock_discrepancies().exists()


def test_check_stock_passes_when_every_unit_is_accounted_for():
    call_command("load_demo_catalog")

    call_command("check_stock")


def test_check_stock_names_the_products_that_do_not_add_up():
    call_command("load_demo_catalog")
    sku = DEMO_CATALOG[0][0]
    Product.objects.filter(sku=sku).update(stock=0)

    with pytest.raises(CommandError, match=sku):
        call_command("check_stock")
