"""The /products rows of the contract."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.management import call_command
from rest_framework.exceptions import ValidationError

from common.http.openapi_examples import default_request, example_problems, security_problems
from product_service.catalog import services
from product_service.catalog.models import Product
from product_service.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def representation(product: Product) -> dict:
    product.refresh_from_db()
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price": f"{product.price:.2f}",
        "stock": product.stock,
        "is_active": product.is_active,
        "created_at": product.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": product.updated_at.isoformat().replace("+00:00", "Z"),
    }


def test_list_is_public_and_shows_active_products_only(api_client):
    shown = ProductFactory(price=Decimal("12.5"))
    ProductFactory(is_active=False)

    response = api_client.get("/products")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"next": None, "previous": None, "results": [representation(shown)]}
    assert response.json()["results"][0]["price"] == "12.50"


def test_list_with_trailing_slash_is_the_same(api_client):
    ProductFactory()
    assert api_client.get("/products/").json() == api_client.get("/products").json()


def test_staff_list_includes_inactive_products(api_client, staff):
    active, inactive = ProductFactory(), ProductFactory(is_active=False)

    response = api_client.get("/products", headers=staff)

    assert [p["id"] for p in response.json()["results"]] == [active.id, inactive.id]


def test_cursor_pages_walk_every_product_once(api_client):
    products = ProductFactory.create_batch(5)

    first = api_client.get("/products", {"page_size": 2}).json()
    second = api_client.get(first["next"]).json()
    third = api_client.get(second["next"]).json()

    assert [p["id"] for p in first["results"] + second["results"] + third["results"]] == [
        p.id for p in products
    ]
    assert third["next"] is None
    assert second["previous"] is not None


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "localhost:6666"},
        {"Host": "evil.example"},
        {"Host": "localhost.:80"},
        {"Host": "localhost", "X-Forwarded-Host": "evil.example"},
    ],
)
def test_cursor_links_start_with_the_public_origin_whatever_the_host(api_client, settings, headers):
    """The gateway caches this answer for every caller of a role: a link naming the
    client's Host would send the others there (docs/security.md, cache poisoning)."""
    settings.ALLOWED_HOSTS = ["*"]
    settings.COMMON = {**settings.COMMON, "PUBLIC_ORIGIN": "https://api.example.com"}
    ProductFactory.create_batch(3)

    first = api_client.get("/products", {"page_size": 1}, headers=headers).json()
    second = api_client.get(first["next"], headers=headers).json()

    assert first["next"].startswith("https://api.example.com/products?")
    assert second["previous"].startswith("https://api.example.com/products?")
    assert "page_size=1" in first["next"]


def test_without_a_public_origin_cursor_links_are_relative(api_client, settings):
    settings.COMMON = {**settings.COMMON, "PUBLIC_ORIGIN": ""}
    ProductFactory.create_batch(2)

    first = api_client.get("/products", {"page_size": 1}, headers={"Host": "localhost:6666"})

    assert first.json()["next"].startswith("/products?")


def test_page_size_is_at_most_100(api_client):
    ProductFactory.create_batch(105)

    assert len(api_client.get("/products", {"page_size": 100}).json()["results"]) == 100
    assert api_client.get("/products", {"page_size": 101}).status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize(
    "query",
    [
        "page_size=0",
        "page_size=-1",
        "page_size=x",
        "page_size=2.0",
        "page_size=null",
        "page_size=2&page_size=2",
        "cursor=a&cursor=b",
        "min_price=1&min_price=2",
        "min_price=-1",
        "max_price=1e60",
        "min_price=abc",
        "in_stock=AAA",
        "in_stock=1",
    ],
)
def test_query_parameters_the_schema_refuses_are_400(api_client, query):
    response = api_client.get(f"/products?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert response["Content-Type"] == PROBLEM
    name = query.split("=")[0]
    assert list(response.json()["errors"]) == [name]


def test_the_schema_states_the_bounds_of_page_size_and_prices(api_client):
    schema = api_client.get("/api/schema", {"format": "json"}).json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/products"]["get"]["parameters"]}

    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert parameters["min_price"] == {"type": "number", "minimum": 0, "maximum": 99999999.99}


@pytest.mark.parametrize(
    ("query", "expected_skus"),
    [
        ({"min_price": "10"}, ["MID", "HIGH"]),
        ({"max_price": "10"}, ["LOW", "MID"]),
        ({"min_price": "5", "max_price": "15"}, ["MID"]),
        ({"in_stock": "true"}, ["LOW", "HIGH"]),
        ({"in_stock": "false"}, ["MID"]),
        ({"search": "gadget"}, ["MID", "HIGH"]),
        ({"search": "low"}, ["LOW"]),
        ({"search": "hig", "in_stock": "true"}, ["HIGH"]),
    ],
)
def test_filters(api_client, query, expected_skus):
    ProductFactory(sku="LOW", name="Widget", price=Decimal("1.00"), stock=3)
    ProductFactory(sku="MID", name="Gadget", price=Decimal("10.00"), stock=0)
    ProductFactory(sku="HIGH", name="Big gadget", price=Decimal("99.00"), stock=1)

    response = api_client.get("/products", query)

    assert response.status_code == HTTPStatus.OK
    assert [p["sku"] for p in response.json()["results"]] == expected_skus


def test_list_filters_do_not_hide_a_product_read_by_id(api_client):
    product = ProductFactory(sku="OUT", stock=0)

    response = api_client.get(f"/products/{product.pk}", {"in_stock": "true", "min_price": "x"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["sku"] == "OUT"


def test_invalid_filter_is_a_validation_problem(api_client):
    response = api_client.get("/products", {"min_price": "cheap"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == PROBLEM
    assert response.json()["errors"] == {"min_price": ["Enter a number."]}


def test_retrieve_is_public(api_client):
    product = ProductFactory()

    response = api_client.get(f"/products/{product.id}")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == representation(product)


@pytest.mark.parametrize("path", ["/products/999999", "inactive"])
def test_missing_or_inactive_product_is_not_found_for_the_public(api_client, customer, path):
    if path == "inactive":
        path = f"/products/{ProductFactory(is_active=False).id}"

    for headers in ({}, customer):
        response = api_client.get(path, headers=headers)
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response["Content-Type"] == PROBLEM


def test_staff_see_an_inactive_product(api_client, staff):
    product = ProductFactory(is_active=False)

    response = api_client.get(f"/products/{product.id}", headers=staff)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["is_active"] is False


def test_staff_create(api_client, staff):
    body = {"sku": "NEW-1", "name": "New", "price": "3.5", "stock": 7}

    response = api_client.post("/products", body, format="json", headers=staff)

    assert response.status_code == HTTPStatus.CREATED
    product = Product.objects.get(sku="NEW-1")
    assert response.json() == representation(product)
    assert response.json()["price"] == "3.50"
    assert product.units_received == 7


PRICE_FORM = 'Must be a string of digits like "9.99".'


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"sku": "X", "name": "X", "price": "-1", "stock": 1},
            {"price": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            {"sku": "X", "name": "X", "price": "1", "stock": -1},
            {"stock": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"name": "X", "price": "1", "stock": 1}, {"sku": ["This field is required."]}),
        # The JSON types the schema names, and nothing DRF would coerce into them.
        ({"sku": "X", "name": "X", "price": 1, "stock": 1}, {"price": [PRICE_FORM]}),
        ({"sku": "X", "name": "X", "price": "", "stock": 1}, {"price": [PRICE_FORM]}),
        ({"sku": "X", "name": "X", "price": "1e3", "stock": 1}, {"price": [PRICE_FORM]}),
        ({"sku": 7, "name": "X", "price": "1", "stock": 1}, {"sku": ["Not a valid string."]}),
        ({"sku": "X", "name": 0, "price": "1", "stock": 1}, {"name": ["Not a valid string."]}),
        (
            {"sku": "X", "name": "X", "price": "1", "stock": "1"},
            {"stock": ["A valid integer is required."]},
        ),
        (
            {"sku": "X", "name": "X", "price": "1", "stock": 1.0},
            {"stock": ["A valid integer is required."]},
        ),
        (
            {"sku": "X", "name": "X", "price": "1", "stock": True},
            {"stock": ["A valid integer is required."]},
        ),
        (
            {"sku": "X", "name": "X", "price": "1", "stock": 1, "is_active": 0},
            {"is_active": ["Must be a valid boolean."]},
        ),
        (
            {"sku": "X", "name": "\u0085", "price": "1", "stock": 1},
            {"name": ["This field may not be blank."]},
        ),
    ],
)
def test_create_rejects_invalid_input(api_client, staff, body, errors):
    ProductFactory(sku="TAKEN")

    response = api_client.post("/products", body, format="json", headers=staff)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == PROBLEM
    assert response.json()["errors"] == errors
    assert response.json()["type"] == "https://errors.example/validation"


def test_a_taken_sku_is_a_409_conflict(api_client, staff):
    ProductFactory(sku="TAKEN")

    response = api_client.post(
        "/products",
        {"sku": "TAKEN", "name": "X", "price": "1", "stock": 1},
        format="json",
        headers=staff,
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "https://errors.example/conflict"
    assert response.json()["errors"] == {"sku": ["This field must be unique."]}


@pytest.mark.parametrize(
    ("method", "path_of"),
    [
        ("post", lambda p: "/products"),
        ("put", lambda p: f"/products/{p.id}"),
        ("patch", lambda p: f"/products/{p.id}"),
        ("delete", lambda p: f"/products/{p.id}"),
    ],
)
def test_writes_need_staff(api_client, customer, method, path_of):
    product = ProductFactory()
    body = {"sku": "Z", "name": "Z", "price": "1", "stock": 1}
    call = getattr(api_client, method)

    anonymous = call(path_of(product), body, format="json")
    signed_in = call(path_of(product), body, format="json", headers=customer)

    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED
    assert anonymous.json()["type"] == "https://errors.example/not-authenticated"
    assert signed_in.status_code == HTTPStatus.FORBIDDEN
    assert signed_in.json()["type"] == "https://errors.example/permission-denied"
    product.refresh_from_db()
    assert (product.sku, product.is_active) != ("Z", False)


def test_staff_put(api_client, staff):
    product = ProductFactory(stock=5)
    body = {"sku": product.sku, "name": "Renamed", "description": "d", "price": "2.00", "stock": 8}

    response = api_client.put(f"/products/{product.id}", body, format="json", headers=staff)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == representation(product)
    assert (product.name, product.stock, product.units_received) == ("Renamed", 8, 8)


def test_staff_patch(api_client, staff):
    product = ProductFactory(price=Decimal("1.00"))

    response = api_client.patch(
        f"/products/{product.id}", {"price": "4.20"}, format="json", headers=staff
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["price"] == "4.20"
    assert response.json() == representation(product)


def test_staff_delete_is_a_soft_delete(api_client, staff):
    product = ProductFactory()

    response = api_client.delete(f"/products/{product.id}", headers=staff)

    assert response.status_code == HTTPStatus.NO_CONTENT
    product.refresh_from_db()
    assert product.is_active is False
    assert product.deleted_at is not None
    # Gone from the API for everyone, staff included, and for every method.
    path = f"/products/{product.id}"
    assert api_client.get(path).status_code == HTTPStatus.NOT_FOUND
    assert api_client.get(path, headers=staff).status_code == HTTPStatus.NOT_FOUND
    assert api_client.patch(path, {"name": "x"}, format="json", headers=staff).status_code == 404
    assert api_client.delete(path, headers=staff).status_code == HTTPStatus.NOT_FOUND
    listed = api_client.get("/products", headers=staff).json()["results"]
    assert product.id not in [p["id"] for p in listed]


def test_an_inactive_product_is_still_staffs_but_a_deleted_one_is_nobodys(api_client, staff):
    inactive = ProductFactory(is_active=False)
    deleted = ProductFactory()
    services.product_delete(product=deleted)

    assert api_client.get(f"/products/{inactive.id}", headers=staff).status_code == 200
    assert api_client.get(f"/products/{inactive.id}").status_code == HTTPStatus.NOT_FOUND
    assert api_client.get(f"/products/{deleted.id}", headers=staff).status_code == 404

    services.product_restore(product=deleted)

    restored = api_client.get(f"/products/{deleted.id}", headers=staff)
    assert restored.status_code == HTTPStatus.OK
    assert restored.json()["is_active"] is False


def test_create_racing_for_a_sku_is_a_validation_error_not_a_crash(monkeypatch):
    ProductFactory(sku="RACE")
    # As if the twin committed between validation and insert.
    monkeypatch.setattr(Product, "full_clean", lambda self: None)

    with pytest.raises(ValidationError) as raised:
        services.product_create(sku="RACE", name="x", price=Decimal("1"), stock=1)

    assert raised.value.detail == {"sku": ["This field must be unique."]}


def test_every_operation_has_a_summary_an_id_for_deep_links_and_valid_examples(api_client):
    document = api_client.get("/api/schema", {"format": "json"}).json()

    assert example_problems(document) == []
    assert security_problems(document) == []
    # Anyone reads; a token (staff) reads more: `{}` first.
    assert document["paths"]["/products"]["get"]["security"] == [{}, {"jwtAuth": []}]


def test_the_list_examples_find_the_demo_keyboard(api_client):
    document = api_client.get("/api/schema", {"format": "json"}).json()
    request = default_request(document, "/products", "get")
    call_command("load_demo_catalog")

    response = api_client.get(request.path, request.query)

    assert response.status_code == HTTPStatus.OK
    assert [product["sku"] for product in response.json()["results"]] == ["KB-001"]


def test_a_stock_past_what_the_catalog_counts_is_a_409_not_a_500(api_client, staff):
    """units_received grows with every unit added: past the largest count it would
    overflow the column (a 500 on PostgreSQL), so the change is refused."""
    product = Product.objects.create(sku="BIG-1", name="Big", price="1.00", stock=5)
    Product.objects.filter(pk=product.pk).update(units_received=10)

    answer = api_client.patch(
        f"/products/{product.pk}",
        {"stock": 2_147_483_647},
        format="json",
        headers=staff,
    )

    assert answer.status_code == HTTPStatus.CONFLICT
    assert answer.json()["type"].endswith("/stock-count-too-large")
    product.refresh_from_db()
    assert (product.stock, product.units_received) == (5, 10)
