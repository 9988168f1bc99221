"""Bodies that break parsers, ids beyond any column: 400/404 problem JSON, never 500."""

from __future__ import annotations

from http import HTTPStatus

import pytest

pytestmark = pytest.mark.django_db

DEEP = "[" * 50_000


def test_deeply_nested_json_is_a_400_problem(api_client, staff, service):
    for path, headers in (("/products", staff), ("/internal/reservations", service)):
        response = api_client.post(path, DEEP, content_type="application/json", headers=headers)

        assert response.status_code == HTTPStatus.BAD_REQUEST, path
        assert response.json()["type"] == "https://errors.example/malformed-request"


@pytest.mark.parametrize("product_id", [10**20, 2**63, -(2**63) - 1])
def test_a_product_id_beyond_any_column_is_not_found(api_client, staff, product_id):
    for headers in ({}, staff):
        response = api_client.get(f"/products/{product_id}", headers=headers)

        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response["Content-Type"] == "application/problem+json"
    patched = api_client.patch(
        f"/products/{product_id}", {"name": "x"}, format="json", headers=staff
    )
    assert patched.status_code == HTTPStatus.NOT_FOUND


def test_reserving_a_product_id_beyond_any_column_is_a_400(api_client, service):
    response = api_client.post(
        "/internal/reservations",
        {"order_ref": "o-huge", "items": [{"product_id": 10**20, "quantity": 1}]},
        format="json",
        headers=service,
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("position", [b"p=1e400", b"p=nan", b"p=x"])
def test_a_cursor_that_names_no_id_is_404_not_500(api_client, position):
    import base64

    response = api_client.get("/products", {"cursor": base64.b64encode(position).decode()})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["detail"] == "Invalid cursor"


def test_a_stock_beyond_what_the_column_holds_is_400_not_500(api_client, staff):
    # Found by the fuzzing suite on PostgreSQL (a 32-bit column): a 500 before.
    response = api_client.post(
        "/products",
        {"sku": "HUGE-1", "name": "Huge", "price": "1.00", "stock": 6843665014},
        format="json",
        headers=staff,
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {
        "stock": ["Ensure this value is less than or equal to 2147483647."]
    }
