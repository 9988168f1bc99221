"""API3:2023 Broken Object Property Level Authorization: no mass assignment of fields that
grant power or belong to the server, and no secret fields in answers."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tests.owasp.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def test_registration_refuses_fields_that_grant_power(api_client):
    body = {"username": "mallory-reg", "password": PASSWORD, "is_staff": True, "is_superuser": 1}

    status, _, problem = api_client.call("POST", "/users/register", body)

    assert status == HTTPStatus.BAD_REQUEST
    assert set(problem["errors"]) == {"is_staff", "is_superuser"}


def test_a_profile_update_cannot_change_who_you_are(api_client):
    username, tokens = api_client.new_user("mallory")
    body = {"username": "root", "is_staff": True, "id": 1, "first_name": "M"}

    status, _, profile = api_client.call("PATCH", "/users/profile", body, token=tokens["access"])

    assert status == HTTPStatus.OK
    assert (profile["username"], profile["first_name"]) == (username, "M")
    assert "password" not in profile
    claims_after = api_client.login(username)["access"]
    assert api_client.call("POST", "/products", {}, token=claims_after)[0] == HTTPStatus.FORBIDDEN


def test_an_order_takes_its_owner_status_and_total_from_the_server(api_client):
    product = api_client.new_product(stock=3, price="2.00")
    body = {
        "items": [{"product_id": product["id"], "quantity": 1}],
        "user_id": 1,
        "status": "cancelled",
        "total": "0.01",
    }

    status, _, order = api_client.call("POST", "/orders", body, token=api_client.user_token(777))

    assert status == HTTPStatus.CREATED, order
    assert (order["user_id"], order["status"], order["total"]) == (777, "confirmed", "2.00")


def test_staff_cannot_set_the_servers_own_product_fields(api_client):
    body = {
        "sku": "OW-MASS-1",
        "name": "x",
        "price": "1.00",
        "stock": 1,
        "id": 999_999,
        "units_received": 10**6,
        "created_at": "2000-01-01T00:00:00Z",
    }

    status, _, product = api_client.call("POST", "/products", body, token=api_client.staff_token())

    assert status == HTTPStatus.CREATED, product
    assert product["id"] != 999_999
    assert not product["created_at"].startswith("2000")
    assert "units_received" not in product
