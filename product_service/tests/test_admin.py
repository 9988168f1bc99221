"""The admin: products with stock edited as a difference, reservations read-only."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from common.testing import CHECKED_ADMIN_PAGES, admin_page_statuses
from product_service.catalog import selectors, services
from product_service.catalog.models import Product, Reservation
from product_service.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/product/"


def changelist_post(product: Product, *, stock: int, seen: int) -> dict[str, str]:
    return {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(product.pk),
        "form-0-stock": str(stock),
        "initial-form-0-stock": str(seen),
        "form-0-is_active": "on",
        "_save": "Save",
    }


def test_changelist_searches_and_filters(admin_client):
    ProductFactory(sku="KB-1", name="Keyboard")
    ProductFactory(sku="MS-1", name="Mouse", is_active=False)

    response = admin_client.get(CHANGELIST, {"q": "keyb", "is_active__exact": "1"})

    assert response.status_code == HTTPStatus.OK
    assert [p.sku for p in response.context["cl"].result_list] == ["KB-1"]
    assert 'name="initial-form-0-stock"' in response.content.decode()


def test_stock_edited_in_the_list_applies_the_difference(admin_client):
    product = ProductFactory(stock=5)
    admin_client.get(CHANGELIST)  # the operator sees 5
    services.stock_reserve(order_ref="o", items=[services.Line(product.id, 2)])  # meanwhile

    response = admin_client.post(CHANGELIST, changelist_post(product, stock=8, seen=5))

    assert response.status_code == HTTPStatus.FOUND
    product.refresh_from_db()
    assert (product.stock, product.units_received) == (6, 8)
    assert not selectors.stock_discrepancies().exists()


def test_stock_decrease_below_what_is_left_is_refused_with_a_message(admin_client):
    product = ProductFactory(stock=5)
    services.stock_reserve(order_ref="o", items=[services.Line(product.id, 4)])

    response = admin_client.post(CHANGELIST, changelist_post(product, stock=0, seen=5), follow=True)

    product.refresh_from_db()
    assert (product.stock, product.units_received) == (1, 5)
    assert "stock not changed" in response.content.decode()


def test_change_form_applies_the_difference_and_other_fields(admin_client):
    product = ProductFactory(stock=5, name="Old")
    services.stock_reserve(order_ref="o", items=[services.Line(product.id, 1)])

    response = admin_client.post(
        f"/admin/catalog/product/{product.pk}/change/",
        {
            "sku": product.sku,
            "name": "New",
            "description": "",
            "price": "1.00",
            "stock": "3",
            "initial-stock": "5",
            "is_active": "on",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    product.refresh_from_db()
    assert (product.name, product.stock, product.units_received) == ("New", 2, 3)


def test_add_form_counts_initial_stock_as_received(admin_client):
    response = admin_client.post(
        "/admin/catalog/product/add/",
        {
            "sku": "N-1",
            "name": "N",
            "description": "",
            "price": "2.00",
            "stock": "4",
            "initial-stock": "0",
            "is_active": "on",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    assert Product.objects.values_list("stock", "units_received").get(sku="N-1") == (4, 4)


def test_reservations_are_read_only(admin_client):
    product = ProductFactory()
    reservation, _ = services.stock_reserve(order_ref="o", items=[services.Line(product.id, 1)])

    listing = admin_client.get("/admin/catalog/reservation/")
    detail = admin_client.get(f"/admin/catalog/reservation/{reservation.pk}/change/")
    add = admin_client.get("/admin/catalog/reservation/add/")
    delete = admin_client.post(
        f"/admin/catalog/reservation/{reservation.pk}/delete/", {"post": "yes"}
    )

    assert listing.status_code == detail.status_code == HTTPStatus.OK
    assert "o" in [r.order_ref for r in listing.context["cl"].result_list]
    assert add.status_code == delete.status_code == HTTPStatus.FORBIDDEN
    assert Reservation.objects.filter(pk=reservation.pk).exists()


def test_changelist_pages_never_count_the_table(admin_client, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(5):
        ProductFactory(sku=f"P-{n}")
    with CaptureQueriesContext(connection) as first:
        response = admin_client.get(CHANGELIST, {"o": "1"})
    with CaptureQueriesContext(connection) as filtered:
        admin_client.get(CHANGELIST, {"is_active__exact": "1", "q": "P-"})

    assert response.status_code == HTTPStatus.OK
    assert len(response.context["cl"].result_list) == 5
    statements = [q["sql"].upper() for q in [*first.captured_queries, *filtered.captured_queries]]
    assert not [sql for sql in statements if "COUNT(" in sql and "CATALOG_PRODUCT" in sql]


def test_changelist_still_pages(admin_client, monkeypatch):
    from product_service.catalog.admin import ProductAdmin

    monkeypatch.setattr(ProductAdmin, "list_per_page", 2)
    for n in range(5):
        ProductFactory(sku=f"P-{n}")

    pages = [admin_client.get(CHANGELIST, {"p": p}).context["cl"] for p in (1, 2, 3)]

    assert [[x.sku for x in cl.result_list] for cl in pages] == [
        ["P-0", "P-1"],
        ["P-2", "P-3"],
        ["P-4"],
    ]
    assert pages[0].multi_page


def test_a_page_number_naming_no_page_is_404_not_500(admin_client):
    """`?p=99999999999999999999` was an OFFSET past BIGINT (NoCountPaginator): a 500."""
    ProductFactory()
    huge = admin_client.get("/admin/products/catalog/product/", {"p": "99999999999999999999"})

    assert huge.status_code == HTTPStatus.NOT_FOUND
    assert huge["Content-Type"] == "application/problem+json"
    assert admin_page_statuses(admin_client, CHANGELIST) == CHECKED_ADMIN_PAGES
    assert admin_page_statuses(admin_client, "/admin/catalog/reservation/") == CHECKED_ADMIN_PAGES


def test_the_admin_lists_deleted_products_and_restores_one(admin_client):
    kept, deleted = ProductFactory(sku="KEPT"), ProductFactory(sku="GONE")
    services.product_delete(product=deleted)

    listed = admin_client.get(CHANGELIST, {"deleted_at__isnull": "False"})
    response = admin_client.post(
        CHANGELIST, {"action": "restore", "_selected_action": [deleted.pk, kept.pk]}, follow=True
    )

    assert [p.sku for p in listed.context["cl"].result_list] == ["GONE"]
    assert response.status_code == HTTPStatus.OK
    assert "1 product(s) restored." in response.content.decode()
    deleted.refresh_from_db()
    assert (deleted.deleted_at, deleted.is_active) == (None, False)
