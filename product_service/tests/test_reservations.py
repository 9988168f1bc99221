"""The internal reservation API and the stock invariant."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from product_service.catalog import selectors, services
from product_service.catalog.exceptions import StockWouldGoNegative
from product_service.catalog.models import Product, Reservation
from product_service.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

RESERVE = "/internal/reservations"


def release_path(order_ref: str) -> str:
    return f"/internal/reservations/{order_ref}/release"


def stocks(*products: Product) -> list[int]:
    return [Product.objects.get(pk=p.pk).stock for p in products]


@pytest.fixture
def keyboard() -> Product:
    return ProductFactory(name="Keyboard", price=Decimal("89.90"), stock=5)


@pytest.fixture
def mouse() -> Product:
    return ProductFactory(name="Mouse", price=Decimal("34.50"), stock=2)


def test_reserve_takes_stock_and_answers_names_and_prices(api_client, service, keyboard, mouse):
    body = {
        "order_ref": "order-1",
        "items": [
            {"product_id": mouse.id, "quantity": 1},
            {"product_id": keyboard.id, "quantity": 2},
            {"product_id": mouse.id, "quantity": 1},
        ],
    }

    response = api_client.post(RESERVE, body, format="json", headers=service)

    assert response.status_code == HTTPStatus.CREATED
    assert response.json() == {
        "order_ref": "order-1",
        "items": [
            {"product_id": keyboard.id, "name": "Keyboard", "unit_price": "89.90", "quantity": 2},
            {"product_id": mouse.id, "name": "Mouse", "unit_price": "34.50", "quantity": 2},
        ],
    }
    assert stocks(keyboard, mouse) == [3, 0]
    assert not selectors.stock_discrepancies().exists()


def test_repeated_reserve_changes_nothing_and_answers_the_same(
    api_client, service, keyboard, staff
):
    body = {"order_ref": "order-1", "items": [{"product_id": keyboard.id, "quantity": 2}]}
    first = api_client.post(RESERVE, body, format="json", headers=service)
    # The price changes; the reservation keeps the price it was made at.
    api_client.patch(f"/products/{keyboard.id}", {"price": "99.00"}, format="json", headers=staff)

    again = api_client.post(RESERVE, body, format="json", headers=service)

    assert first.status_code == HTTPStatus.CREATED
    assert again.status_code == HTTPStatus.OK
    assert again.json() == first.json()
    assert stocks(keyboard) == [3]


def test_order_ref_reused_for_other_items_is_a_conflict(api_client, service, keyboard):
    api_client.post(
        RESERVE,
        {"order_ref": "o", "items": [{"product_id": keyboard.id, "quantity": 1}]},
        format="json",
        headers=service,
    )

    response = api_client.post(
        RESERVE,
        {"order_ref": "o", "items": [{"product_id": keyboard.id, "quantity": 2}]},
        format="json",
        headers=service,
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["type"] == "https://errors.example/order-ref-reused"
    assert stocks(keyboard) == [4]


def test_insufficient_stock_takes_nothing_and_names_the_items(api_client, service, keyboard, mouse):
    body = {
        "order_ref": "order-2",
        "items": [
            {"product_id": keyboard.id, "quantity": 1},
            {"product_id": mouse.id, "quantity": 3},
        ],
    }

    response = api_client.post(RESERVE, body, format="json", headers=service)

    assert response.status_code == HTTPStatus.CONFLICT
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://errors.example/insufficient-stock",
        "title": "Conflict",
        "status": 409,
        "detail": f"Not enough stock for product(s) {mouse.id}.",
        "items": [{"product_id": mouse.id, "requested": 3, "available": 2}],
    }
    assert stocks(keyboard, mouse) == [5, 2]
    assert not Reservation.objects.exists()


def test_after_insufficient_stock_the_same_order_ref_can_try_again(api_client, service, mouse):
    body = {"order_ref": "retry", "items": [{"product_id": mouse.id, "quantity": 2}]}
    Product.objects.filter(pk=mouse.pk).update(stock=1, units_received=1)
    assert api_client.post(RESERVE, body, format="json", headers=service).status_code == 409
    Product.objects.filter(pk=mouse.pk).update(stock=2, units_received=2)

    response = api_client.post(RESERVE, body, format="json", headers=service)

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.parametrize("kind", ["unknown", "inactive"])
def test_unknown_or_inactive_product_is_a_bad_request(api_client, service, keyboard, kind):
    product_id = 999999 if kind == "unknown" else ProductFactory(is_active=False).id
    body = {
        "order_ref": "order-3",
        "items": [
            {"product_id": keyboard.id, "quantity": 1},
            {"product_id": product_id, "quantity": 1},
        ],
    }

    response = api_client.post(RESERVE, body, format="json", headers=service)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "type": "https://errors.example/unknown-product",
        "title": "Invalid input",
        "status": 400,
        "detail": f"items: Product {product_id} does not exist or is not active.",
        "errors": {"items": [f"Product {product_id} does not exist or is not active."]},
        "product_ids": [product_id],
    }
    assert stocks(keyboard) == [5]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"order_ref": "x", "items": []},
            {"items": ["Ensure this field has at least 1 elements."]},
        ),
        (
            {"order_ref": "x", "items": [{"product_id": 1, "quantity": 0}]},
            {"items": {"0": {"quantity": ["Ensure this value is greater than or equal to 1."]}}},
        ),
        ({"items": [{"product_id": 1, "quantity": 1}]}, {"order_ref": ["This field is required."]}),
    ],
)
def test_invalid_reserve_request(api_client, service, body, errors):
    response = api_client.post(RESERVE, body, format="json", headers=service)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == errors


@pytest.mark.parametrize(
    "headers", [{}, {"X-Service-Token": "wrong"}], ids=["no token", "wrong token"]
)
def test_internal_api_needs_the_service_token(api_client, keyboard, staff, headers):
    body = {"order_ref": "o", "items": [{"product_id": keyboard.id, "quantity": 1}]}

    reserve = api_client.post(RESERVE, body, format="json", headers=headers)
    as_staff = api_client.post(RESERVE, body, format="json", headers=staff)
    release = api_client.post(release_path("o"), headers=headers)

    # None or an unknown one is no credential (401, the header named); a user's token,
    # staff or not, is no service token.
    for response in (reserve, as_staff, release):
        assert response.status_code == HTTPStatus.UNAUTHORIZED
        assert response["WWW-Authenticate"] == "X-Service-Token"
    assert stocks(keyboard) == [5]


def test_release_returns_the_stock_once(api_client, service, keyboard, mouse):
    body = {
        "order_ref": "order-4",
        "items": [
            {"product_id": keyboard.id, "quantity": 2},
            {"product_id": mouse.id, "quantity": 1},
        ],
    }
    reserved = api_client.post(RESERVE, body, format="json", headers=service).json()

    first = api_client.post(release_path("order-4"), headers=service)
    again = api_client.post(release_path("order-4") + "/", headers=service)

    assert first.status_code == again.status_code == HTTPStatus.OK
    assert first.json() == again.json() == {**reserved, "status": "released"}
    assert stocks(keyboard, mouse) == [5, 2]
    assert not selectors.stock_discrepancies().exists()


def test_reserve_after_release_takes_nothing_again(api_client, service, keyboard):
    body = {"order_ref": "order-5", "items": [{"product_id": keyboard.id, "quantity": 2}]}
    first = api_client.post(RESERVE, body, format="json", headers=service)
    api_client.post(release_path("order-5"), headers=service)

    again = api_client.post(RESERVE, body, format="json", headers=service)

    assert again.status_code == HTTPStatus.OK
    assert again.json() == first.json()
    assert stocks(keyboard) == [5]


def test_release_of_unknown_ref_is_not_found(api_client, service):
    response = api_client.post(release_path("nope"), headers=service)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["detail"] == "No reservation 'nope'."


def test_reserved_product_can_be_soft_deleted_and_released(api_client, service, staff, keyboard):
    body = {"order_ref": "order-6", "items": [{"product_id": keyboard.id, "quantity": 1}]}
    api_client.post(RESERVE, body, format="json", headers=service)
    api_client.delete(f"/products/{keyboard.id}", headers=staff)

    response = api_client.post(release_path("order-6"), headers=service)

    assert response.status_code == HTTPStatus.OK
    assert stocks(keyboard) == [5]


# Staff stock changes are differences, so reservations made meanwhile are kept.


def test_staff_stock_change_applies_as_a_difference(api_client, service, staff, keyboard):
    seen = Product.objects.get(pk=keyboard.pk)  # the staff member reads stock 5
    services.stock_reserve(order_ref="o", items=[services.Line(keyboard.id, 2)])  # meanwhile

    services.product_update(product=seen, data={"stock": 8})  # "+3" from what they saw

    keyboard.refresh_from_db()
    assert (keyboard.stock, keyboard.units_received) == (6, 8)
    assert not selectors.stock_discrepancies().exists()


def test_staff_stock_decrease_that_would_go_negative_is_a_conflict(service, keyboard):
    seen = Product.objects.get(pk=keyboard.pk)  # stock 5
    services.stock_reserve(order_ref="o", items=[services.Line(keyboard.id, 4)])  # leaves 1

    with pytest.raises(StockWouldGoNegative):
        services.product_update(product=seen, data={"stock": 0})  # "-5"

    keyboard.refresh_from_db()
    assert (keyboard.stock, keyboard.units_received) == (1, 5)


def test_database_keeps_stock_non_negative(keyboard):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=keyboard.pk).update(stock=F("stock") - 6)

    assert stocks(keyboard) == [5]


def test_invariant_check_finds_units_that_went_missing(keyboard):
    assert not selectors.stock_discrepancies().exists()

    Product.objects.filter(pk=keyboard.pk).update(stock=4)  # a unit lost outside the rules

    assert list(selectors.stock_discrepancies()) == [keyboard]
